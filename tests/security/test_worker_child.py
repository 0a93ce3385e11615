"""A warm worker's fresh child, driven through the runner's own handle on the worker process.

Each test starts a real ``python -m flow_local.runtime.worker`` (confined children, subreaper) and hands
it jobs the way a runner does, without the platform around it.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from flow_local.runtime.sandbox import BASE_ENVIRONMENT
from flow_local.runtime.worker import WRITABLE_ENV
from flow_local.runtime.worker_process import WorkerProcess

from .conftest import ESCAPE, alive

DESCRIPTORS = """
import os

def main() -> dict:
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[name] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass  # the descriptor listdir itself used, closed meanwhile
    return found
"""

PRINT_TWO_THEN_WAIT = """
import os, time

def main(go: str) -> dict:
    print("one")
    print("two")
    deadline = time.monotonic() + 60
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.02)
    return {"saw_go": os.path.exists(go)}
"""


class Job:
    """One job handed to a worker: its events as they come, its result and exit code at the end."""

    def __init__(self, source: str, inputs: dict[str, Any], number: int = 1) -> None:
        self.job = {
            "execution_id": f"exec-{number}",
            "component_type": "code_block",
            "spec": {"source": source},
            "env": {},
        }
        self.message = {"input_data": inputs}
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.seen = asyncio.Event()

    def text(self) -> str:
        """The stdout sent so far."""
        return "".join(str(data.get("text")) for kind, data in self.events if kind == "message")

    async def on_event(self, event_type: str, data: dict[str, Any]) -> None:
        self.events.append((event_type, data))
        self.seen.set()

    async def on_result(self, _result: dict[str, Any]) -> None:
        return None

    async def run(self, worker: WorkerProcess) -> tuple[dict[str, Any] | None, int]:
        return await worker.run(self.job, self.message, self.on_event, self.on_result)


@pytest.fixture
def side_dir(monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory the worker's children may write (their side channel with the test)."""
    directory = Path(tempfile.mkdtemp(prefix="flow-worker-test-"))
    monkeypatch.setenv(WRITABLE_ENV, str(directory))
    return directory


@pytest.fixture
async def worker(side_dir: Path) -> AsyncIterator[WorkerProcess]:
    process = WorkerProcess()
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


async def test_a_detached_grandchild_is_gone_when_the_worker_reports_the_end(worker: WorkerProcess) -> None:
    result, exit_code = await Job(ESCAPE, {"wait": 0}).run(worker)
    assert result is not None and result["error"] is None and exit_code == 0
    grandchild = int(result["output"])
    assert not alive(grandchild), "the setsid grandchild outlived its execution"
    # The worker still serves the next job once the tree is gone.
    again, _code = await Job(ESCAPE, {"wait": 0}, number=2).run(worker)
    assert again is not None and not alive(int(again["output"]))


async def test_a_child_holds_no_descriptor_but_its_stdio_and_result_pipe(worker: WorkerProcess) -> None:
    result, _code = await Job(DESCRIPTORS, {}).run(worker)
    assert result is not None and result["error"] is None, result
    found: dict[str, str] = result["output"]
    extra = {fd: target for fd, target in found.items() if fd not in ("0", "1", "2")}
    assert found["0"] == os.devnull
    assert len(extra) == 1 and next(iter(extra.values())).startswith("pipe:"), found


async def test_a_sync_main_streams_held_back_output_while_it_runs(
    worker: WorkerProcess, side_dir: Path
) -> None:
    go = side_dir / "go"
    job = Job(PRINT_TWO_THEN_WAIT, {"go": str(go)})
    running = asyncio.ensure_future(job.run(worker))
    try:
        # "two" follows "one" at once, so it is held back: only the flusher can send it before the end.
        while "two" not in job.text():
            job.seen.clear()
            await asyncio.wait_for(job.seen.wait(), 30)
            assert not running.done(), job.events
        go.touch()
        result, exit_code = await running
    finally:
        go.touch()
    assert result is not None and result["output"] == {"saw_go": True} and exit_code == 0
    assert job.text() == "one\ntwo\n"


FILL_THEN_PRINT = """
def main() -> int:
    held = []
    try:
        while True:
            held.append(bytearray(1024 * 1024))
    except MemoryError:
        del held[-2:]  # room for small objects, none for a thread's stack
    print("one")
    print("two")
    return len(held)
"""


async def test_a_child_at_its_memory_limit_still_prints_when_no_flusher_thread_fits(
    worker: WorkerProcess,
) -> None:
    job = Job(FILL_THEN_PRINT, {})
    job.job["spec"] = {"source": FILL_THEN_PRINT, "memory_mb": 32}
    job.job["memory_mb"] = 32
    result, exit_code = await job.run(worker)
    assert result is not None and result["error"] is None and exit_code == 0, result
    assert 16 <= result["output"] <= 64, "the limit is the job's 32 MiB and the threads' stacks"
    assert job.text() == "one\ntwo\n"


async def test_sync_async_and_flow_taking_mains_all_run(worker: WorkerProcess) -> None:
    sources = {
        "def main(x: int) -> int:\n    return x + 1\n": 2,
        "async def main(x: int) -> int:\n    return x + 2\n": 3,
        "def main(x: int, flow) -> str:\n    return type(flow).__name__\n": "FlowSDK",
        "import asyncio\n\ndef main(x: int):\n    return asyncio.sleep(0, result=x + 3)\n": 4,
    }
    for number, (source, expected) in enumerate(sources.items()):
        result, _code = await Job(source, {"x": 1}, number).run(worker)
        assert result is not None and result["error"] is None, (source, result)
        assert result["output"] == expected


async def test_a_child_sees_the_base_variables_its_scratch_and_its_runtime_variables_only(
    worker: WorkerProcess,
) -> None:
    job = Job("import os\n\ndef main() -> dict:\n    return dict(os.environ)\n", {})
    job.job["env"] = {"AUTH_TOKEN": "a-token", "ORG_ID": "org-1", "NOT_A_RUNTIME_VARIABLE": "x"}
    result, _code = await job.run(worker)
    assert result is not None and result["error"] is None, result
    environment: dict[str, str] = result["output"]
    base = {name: os.environ[name] for name in BASE_ENVIRONMENT if name in os.environ}
    assert environment == {
        **base,
        "PYTHONUNBUFFERED": "1",
        "HOME": environment["HOME"],
        "TMPDIR": environment["HOME"],
        "AUTH_TOKEN": "a-token",
        "ORG_ID": "org-1",
    }
    assert Path(environment["HOME"]).name.startswith("exec-")


async def test_a_child_has_no_capability(worker: WorkerProcess) -> None:
    source = (
        "def main() -> dict:\n"
        "    lines = open('/proc/self/status').read().splitlines()\n"
        "    return dict(line.split(':\\t') for line in lines if line.startswith('Cap'))\n"
    )
    result, _code = await Job(source, {}).run(worker)
    assert result is not None and result["error"] is None, result
    sets = {name: int(value, 16) for name, value in result["output"].items()}
    assert {name: sets[name] for name in ("CapInh", "CapPrm", "CapEff", "CapAmb")} == dict.fromkeys(
        ("CapInh", "CapPrm", "CapEff", "CapAmb"), 0
    )
    if os.geteuid() == 0:
        assert sets["CapBnd"] == 0, sets


async def test_a_child_inherits_the_worker_s_objects_frozen(worker: WorkerProcess) -> None:
    source = "import gc\n\ndef main() -> int:\n    return gc.get_freeze_count()\n"
    result, _code = await Job(source, {}).run(worker)
    assert result is not None and result["output"] > 1000, result


async def test_a_job_line_that_is_not_a_job_fails_its_child_not_the_worker(worker: WorkerProcess) -> None:
    assert worker.process is not None and worker.process.stdin is not None
    for line in (b"not JSON\n", b'["not", "an", "object"]\n'):
        worker.process.stdin.write(line)
        assert await worker._read_line() == {"kind": "done", "exit_code": 1}
    result, _code = await Job("def main() -> int:\n    return 7\n", {}).run(worker)
    assert result is not None and result["output"] == 7


FORGE_DONE = """
import os, time

def main(go: str, ready: str) -> str:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and os.readlink(f"/proc/self/fd/{name}").startswith("pipe:"):
                os.write(fd, b'{"kind": "done", "exit_code": 0}\\n')
                os.write(fd, b'{"kind": "d\\\\u006fne", "exit_code": 0}\\n')
        except OSError:
            pass
    open(ready, "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.02)
    return "mine"
"""


async def test_a_done_line_written_by_user_code_does_not_end_its_job(
    worker: WorkerProcess, side_dir: Path
) -> None:
    go, ready = side_dir / "go-forge", side_dir / "ready-forge"
    job = Job(FORGE_DONE, {"go": str(go), "ready": str(ready)})
    running = asyncio.ensure_future(job.run(worker))
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not ready.exists():
            assert asyncio.get_running_loop().time() < deadline, "the code block never got to write"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        assert not running.done(), "a forged done line ended the job while its code still ran"
        go.touch()
        result, exit_code = await asyncio.wait_for(running, 30)
    finally:
        go.touch()
    assert result is not None and result["output"] == "mine" and exit_code == 0, result
