"""Runners sharing the queue, a platform killed mid-run, and work accepted before a crash."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from flow_local.harness import LocalPlatform
from flow_local.runtime.supervisor import kept_port

from .conftest import create_component, start_platform

SLOW = "import os, time\n\ndef main(log: str, seconds: float):\n    open(log, 'a').write('start\\n')\n    time.sleep(seconds)\n    open(log, 'a').write('done\\n')\n    return os.getppid()\n"


def _submit(lp: LocalPlatform, body: Mapping[str, object]) -> str:
    base = f"{lp.url}/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
    response = httpx.post(
        f"{base}/executions", json=body, headers={"Authorization": f"Bearer {lp.admin_token}"}, timeout=30
    )
    assert response.status_code == 202, response.text
    return str(response.json()["execution_id"])


def _result(lp: LocalPlatform, execution_id: str, wait: float = 30) -> dict[str, object]:
    base = f"{lp.url}/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
    headers = {"Authorization": f"Bearer {lp.admin_token}"}
    deadline = time.monotonic() + wait
    while True:
        response = httpx.get(
            f"{base}/executions/{execution_id}/result",
            params={"wait_seconds": 10},
            headers=headers,
            timeout=30,
        )
        body = response.json()
        if body["status"] not in ("pending", "running") or time.monotonic() > deadline:
            return {
                **body,
                "attempt": httpx.get(f"{base}/executions/{execution_id}", headers=headers).json()["attempt"],
            }


def _wait_running(lp: LocalPlatform, execution_id: str) -> None:
    base = f"{lp.url}/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
    headers = {"Authorization": f"Bearer {lp.admin_token}"}
    deadline = time.monotonic() + 15
    while httpx.get(f"{base}/executions/{execution_id}", headers=headers).json()["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _start_runner(nats_url: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "flow_local", "runner", "--workers", "1"]
    env = {**os.environ, "NATS_URL": nats_url}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None and "ready" in process.stdout.readline()
    return process


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


async def test_two_external_runners_share_the_queue(side_dir: Path) -> None:
    lp = await asyncio.to_thread(start_platform, workers="0")
    runners: list[subprocess.Popen[str]] = []
    try:
        assert lp.platform is not None
        nats_url = lp.platform.extras["runner_nats_url"]
        runners = await asyncio.gather(*(asyncio.to_thread(_start_runner, nats_url) for _ in range(2)))
        create_component(lp, "code_block", "cb-slow", {"source": SLOW})
        body = {
            "component_type": "code_block",
            "component_id": "cb-slow",
            "ring_id": lp.ring_id,
            "input": {"log": str(side_dir / "log"), "seconds": 0.3},
        }
        ids = [_submit(lp, body) for _ in range(4)]
        results = await asyncio.gather(*(asyncio.to_thread(_result, lp, i) for i in ids))
        assert all(r["status"] == "completed" for r in results)
        workers = [_children(runner.pid) for runner in runners]
        outputs = {r["output"] for r in results}
        assert all(outputs & pids for pids in workers), (outputs, workers)
    finally:
        for runner in runners:
            runner.terminate()
            runner.wait(10)
        await asyncio.to_thread(lp.stop)


@pytest.mark.slow
def test_restart_keeps_accepted_work_and_retries_a_lost_run_once(
    tmp_path: Path, side_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One worker runs a job while a second waits in the queue; the platform is killed (its runner dies
    with it). After a restart the queued job runs once, and the lost one runs again as attempt 2."""
    monkeypatch.setenv("FLOW_LOCAL_LOST_AFTER_SECONDS", "1.5")
    data_dir = tmp_path / "data"
    lost_log, queued_log = side_dir / "lost.log", side_dir / "queued.log"
    first = start_platform(data_dir=data_dir, subprocess=True, workers="1")
    try:
        create_component(first, "code_block", "cb-slow", {"source": SLOW})
        body = {"component_type": "code_block", "component_id": "cb-slow", "ring_id": first.ring_id}
        lost = _submit(first, {**body, "input": {"log": str(lost_log), "seconds": 1.0}})
        _wait_running(first, lost)
        queued = _submit(first, {**body, "input": {"log": str(queued_log), "seconds": 0.1}})
    finally:
        first.kill()

    second = start_platform(data_dir=data_dir, subprocess=True, workers="1")
    try:
        queued_result, lost_result = _result(second, queued), _result(second, lost)
    finally:
        second.stop()
    assert queued_result["status"] == "completed" and queued_result["attempt"] == 1
    assert queued_log.read_text().splitlines() == ["start", "done"]
    assert lost_result["status"] == "completed" and lost_result["attempt"] == 2
    assert lost_log.read_text().splitlines() == ["start", "start", "done"]
    assert not any(p for p in os.listdir("/proc") if p.isdigit() and _is_nats_of(p, data_dir))


def _is_nats_of(pid: str, data_dir: Path) -> bool:
    try:
        return str(data_dir) in Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return False


def test_the_nats_port_is_kept_while_a_killed_servers_connections_linger(tmp_path: Path) -> None:
    """Connections the old server closed sit in TIME_WAIT on its port; the platform still takes it back."""
    path = tmp_path / "port"
    port = kept_port(path)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()
        client.close()
    with pytest.raises(OSError), socket.socket(socket.AF_INET, socket.SOCK_STREAM) as plain:
        plain.bind(("127.0.0.1", port))
    assert kept_port(path) == port
