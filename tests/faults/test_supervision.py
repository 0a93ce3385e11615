"""Crashes of the parts behind the API: nats-server, the runner, a worker. Nothing is restarted by hand.

Each test kills one process with SIGKILL while an execution runs and asserts that the execution still
completes (the platform restarts what died and re-dispatches or retries what it held), that the code
ran to completion exactly once, and that no process of the killed kind is left behind.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flow_local.harness import LocalPlatform
from flow_local.runtime.engine import ExecutionEngine

SLOW = """
import os, time

def main(log: str, seconds: float) -> str:
    with open(log + ".pid", "w") as handle:
        handle.write(str(os.getpid()))
    with open(log, "a") as handle:
        handle.write("start\\n")
    time.sleep(seconds)
    with open(log, "a") as handle:
        handle.write("done\\n")
    return "finished"
"""


@pytest.fixture(scope="module")
def side_dir() -> Iterator[Path]:
    """A directory the code blocks may write (their witness of how often they ran)."""
    with tempfile.TemporaryDirectory(prefix="flow-faults-") as directory:
        yield Path(directory)


@pytest.fixture(scope="module")
def lp(side_dir: Path) -> Iterator[LocalPlatform]:
    saved = {
        name: os.environ.get(name)
        for name in (
            "FLOW_LOCAL_RUNNER_WRITABLE",
            "FLOW_LOCAL_RUNNER_WORKERS",
            "FLOW_LOCAL_LOST_AFTER_SECONDS",
        )
    }
    os.environ.update(
        {
            "FLOW_LOCAL_RUNNER_WRITABLE": str(side_dir),
            "FLOW_LOCAL_RUNNER_WORKERS": "2",
            "FLOW_LOCAL_LOST_AFTER_SECONDS": "1.5",
        }
    )
    platform = LocalPlatform().start()
    try:
        with _api(platform) as client:
            created = client.post(
                "/components/code_block", json={"id": "cb-slow", "name": "slow", "spec": {"source": SLOW}}
            )
            assert created.status_code == 201, created.text
        yield platform
    finally:
        platform.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _api(lp: LocalPlatform) -> httpx.Client:
    base = f"{lp.url}/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {lp.admin_token}"}, timeout=60)


def _engine(lp: LocalPlatform) -> ExecutionEngine:
    assert lp.platform is not None
    engine = lp.platform.component(ExecutionEngine)
    assert engine is not None
    return engine


def _submit(lp: LocalPlatform, log: Path, seconds: float) -> str:
    with _api(lp) as client:
        response = client.post(
            "/executions",
            json={
                "component_type": "code_block",
                "component_id": "cb-slow",
                "ring_id": lp.ring_id,
                "input": {"log": str(log), "seconds": seconds},
            },
        )
        assert response.status_code == 202, response.text
        return str(response.json()["execution_id"])


def _wait_started(log: Path) -> None:
    deadline = time.monotonic() + 60
    while not (log.exists() and "start" in log.read_text()):
        assert time.monotonic() < deadline, "the code block never started"
        time.sleep(0.05)


def _finish(lp: LocalPlatform, execution_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    with _api(lp) as client:
        while True:
            result = client.get(f"/executions/{execution_id}/result", params={"wait_seconds": 20}).json()
            if result["status"] not in ("pending", "running") or time.monotonic() > deadline:
                result["attempt"] = client.get(f"/executions/{execution_id}").json()["attempt"]
                return dict(result)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_nats_server_is_restarted_and_the_running_execution_completes_once(
    lp: LocalPlatform, side_dir: Path
) -> None:
    engine = _engine(lp)
    assert engine.nats_server is not None and engine.nats_server.pid is not None
    log = side_dir / "nats.log"
    execution_id = _submit(lp, log, 1.0)
    _wait_started(log)
    old_pid = engine.nats_server.pid
    killed_at = time.monotonic()
    os.kill(old_pid, signal.SIGKILL)
    result = _finish(lp, execution_id)
    elapsed = time.monotonic() - killed_at
    print(f"\nnats-server SIGKILLed while a 1 s code block ran: completed {elapsed:.2f} s after the kill")
    assert result["status"] == "completed" and result["output"] == "finished", result
    assert log.read_text().splitlines() == ["start", "done"]
    assert engine.nats_server.pid != old_pid and not _alive(old_pid)
    after = side_dir / "after-nats.log"
    assert _finish(lp, _submit(lp, after, 0.0))["status"] == "completed"


def test_a_killed_runner_is_restarted_and_its_execution_retried_once(
    lp: LocalPlatform, side_dir: Path
) -> None:
    engine = _engine(lp)
    runner = engine.runner_pid
    assert runner is not None
    log = side_dir / "runner.log"
    execution_id = _submit(lp, log, 1.0)
    _wait_started(log)
    workers = _children(runner)
    os.kill(runner, signal.SIGKILL)
    result = _finish(lp, execution_id)
    assert result["status"] == "completed" and result["attempt"] == 2, result
    assert log.read_text().splitlines() == ["start", "start", "done"]
    assert engine.runner_pid not in (None, runner)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "a worker of the killed runner survived it"
        time.sleep(0.05)


def test_a_killed_worker_is_replaced_and_its_execution_retried_once(
    lp: LocalPlatform, side_dir: Path
) -> None:
    engine = _engine(lp)
    runner = engine.runner_pid
    assert runner is not None
    log = side_dir / "worker.log"
    execution_id = _submit(lp, log, 1.0)
    _wait_started(log)
    running = int(Path(f"{log}.pid").read_text())
    busy = [pid for pid in _children(runner) if running in _children(pid)]
    assert len(busy) == 1, busy
    child = _children(busy[0])
    os.kill(busy[0], signal.SIGKILL)
    result = _finish(lp, execution_id)
    assert result["status"] == "completed" and result["attempt"] == 2, result
    assert log.read_text().splitlines() == ["start", "start", "done"]
    assert engine.runner_pid == runner
    assert not any(_alive(pid) for pid in child)


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        children = _children(frontier.pop())
        found.update(children)
        frontier.extend(children)
    return found


def test_a_killed_platform_takes_every_child_with_it_and_restarts_clean(tmp_path: Path) -> None:
    """SIGKILL the platform with a hosted service and a running execution: nothing it started survives;
    a survivor planted in its pid files is reaped by the restart, which starts one copy of the service."""
    from flow_local.runtime import pidfiles
    from flow_sdk import CLIClient, FlowConfig

    examples = Path(__file__).resolve().parents[2] / "examples"
    data_dir = tmp_path / "data"
    first = LocalPlatform(data_dir, subprocess=True).start()
    try:
        config = FlowConfig(
            platform_url=first.url,
            access_token=first.admin_token,
            org_id=first.org_id,
            workspace_id=first.workspace_id,
        )
        deployed = CLIClient(config).hosted_services.deploy(
            "svc", "main:app", source_dir=str(examples / "profile_service")
        )
        assert deployed["status"] == "running"
        with _api(first) as client:
            client.post(
                "/components/code_block",
                json={
                    "id": "cb-sleep",
                    "name": "s",
                    "spec": {"source": "import time\n\ndef main():\n    time.sleep(60)\n"},
                },
            )
            client.post(
                "/executions",
                json={
                    "component_type": "code_block",
                    "component_id": "cb-sleep",
                    "ring_id": first.ring_id,
                    "input": {},
                },
            )
        assert first.process is not None
        deadline = time.monotonic() + 30
        while len(_descendants(first.process.pid)) < 5:
            assert time.monotonic() < deadline, "the platform's children did not all start"
            time.sleep(0.1)
        children = _descendants(first.process.pid)
    finally:
        first.kill()
    deadline = time.monotonic() + 10
    while [pid for pid in children if _alive(pid)]:
        assert time.monotonic() < deadline, f"survivors: {[pid for pid in children if _alive(pid)]}"
        time.sleep(0.05)

    import subprocess
    import sys

    planted = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    pidfiles.record(data_dir, "service-planted", planted.pid)
    second = LocalPlatform(data_dir, subprocess=True).start()
    try:
        assert planted.wait(timeout=10) == -signal.SIGKILL
        assert second.process is not None
        deadline = time.monotonic() + 30
        services: list[int] = []
        while len(services) != 1:
            services = [
                pid
                for pid in _descendants(second.process.pid)
                if b"services.serve" in Path(f"/proc/{pid}/cmdline").read_bytes()
            ]
            assert time.monotonic() < deadline, services
            time.sleep(0.1)
    finally:
        second.stop()


HOLDER = """
import sys, time
from flow_local.harness import LocalPlatform

platform = LocalPlatform(sys.argv[1], subprocess=True).start()
print(platform.process.pid, flush=True)
time.sleep(600)
"""


def test_a_platform_started_by_a_killed_test_process_goes_with_it(tmp_path: Path) -> None:
    """A test process killed outright (no stop(), no finally) leaves no platform, runner or worker behind."""
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "data")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        server = int(holder.stdout.readline())
        deadline = time.monotonic() + 30
        while len(_descendants(server)) < 3:  # nats-server, the runner and its workers
            assert time.monotonic() < deadline, "the platform's children did not start"
            time.sleep(0.1)
        started = {server, *_descendants(server)}
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 30
    while [pid for pid in started if _alive(pid)]:
        assert time.monotonic() < deadline, f"survivors: {[pid for pid in started if _alive(pid)]}"
        time.sleep(0.1)
