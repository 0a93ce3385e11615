"""``flow platform serve`` against PostgreSQL: the production entry point, as a process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg

from flow_local.cluster.engines import PostgresEngine
from flow_local.ports import free_port


def _serve(tmp_path: Path, database_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    command = [str(Path(sys.executable).parent / "flow"), "platform", "serve", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "data"), "--log-level", "warning"]
    env = {**os.environ, "FLOW_DATABASE_URL": database_url}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()
    return process, f"http://127.0.0.1:{port}"


def _wait_healthy(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "flow platform serve exited during start"
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"flow platform serve did not answer on {url}")


def test_platform_serve_keeps_its_state_in_postgres(postgres: PostgresEngine, tmp_path: Path) -> None:
    url = postgres.create_database("platform_serve")
    process, base = _serve(tmp_path, url)
    try:
        _wait_healthy(process, base)
    finally:
        process.terminate()
        process.wait(30)
    banner = (tmp_path / "serve.log").read_text()
    assert "postgresql://postgres:***@" in banner
    assert postgres.password not in banner
    with psycopg.connect(url) as conn:
        orgs = conn.execute("SELECT count(*) FROM orgs").fetchone()
    assert orgs is not None and orgs[0] == 1
    assert not (tmp_path / "data" / "platform.db").exists()
