"""Runners sharing the queue, a platform killed mid-run, and work accepted before a crash."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from flow_local.platform import LocalPlatform

from .conftest import create_component, start_platform

SLOW = "import os, time\n\ndef main(log: str, seconds: float):\n    open(log, 'a').write('start\\n')\n    time.sleep(seconds)\n    open(log, 'a').write('done\\n')\n    return os.getppid()\n"


def _submit(lp: LocalPlatform, body: dict[str, object]) -> str:
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
    command = [sys.executable, "-m", "flow_local", "runner", "--nats", nats_url, "--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and "ready" in process.stdout.readline()
    return process


async def test_two_external_runners_share_the_queue(tmp_path: Path) -> None:
    lp = await asyncio.to_thread(start_platform, workers="0")
    runners: list[subprocess.Popen[str]] = []
    try:
        assert lp.platform is not None
        nats_url = lp.platform.extras["nats_url"]
        runners = await asyncio.gather(*(asyncio.to_thread(_start_runner, nats_url) for _ in range(2)))
        create_component(lp, "code_block", "cb-slow", {"source": SLOW})
        body = {
            "component_type": "code_block",
            "component_id": "cb-slow",
            "ring_id": lp.ring_id,
            "input": {"log": str(tmp_path / "log"), "seconds": 0.3},
        }
        ids = [_submit(lp, body) for _ in range(4)]
        results = await asyncio.gather(*(asyncio.to_thread(_result, lp, i) for i in ids))
        assert all(r["status"] == "completed" for r in results)
        assert {r["output"] for r in results} == {runner.pid for runner in runners}
    finally:
        for runner in runners:
            runner.terminate()
            runner.wait(10)
        await asyncio.to_thread(lp.stop)


@pytest.mark.slow
def test_restart_keeps_accepted_work_and_retries_a_lost_run_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    log = tmp_path / "log"
    first = start_platform(data_dir=data_dir, subprocess=True, workers="0")
    create_component(first, "code_block", "cb-slow", {"source": SLOW})
    body = {
        "component_type": "code_block",
        "component_id": "cb-slow",
        "ring_id": first.ring_id,
        "input": {"log": str(log), "seconds": 0.1},
    }
    pending = _submit(first, body)
    first.kill()

    second = start_platform(data_dir=data_dir, subprocess=True, workers="1")
    assert _result(second, pending)["status"] == "completed"
    log.unlink()
    running = _submit(second, {**body, "input": {"log": str(log), "seconds": 1.5}})
    _wait_running(second, running)
    second.kill()

    third = start_platform(data_dir=data_dir, subprocess=True, workers="1")
    try:
        result = _result(third, running)
        assert result["status"] == "completed" and result["attempt"] == 2
        assert log.read_text().splitlines() == ["start", "start", "done"]
    finally:
        third.stop()
    assert not any(p for p in os.listdir("/proc") if p.isdigit() and _is_nats_of(p, data_dir))


def _is_nats_of(pid: str, data_dir: Path) -> bool:
    try:
        return str(data_dir) in Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return False
