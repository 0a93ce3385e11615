"""Two API replicas on one PostgreSQL, one SeaweedFS and one NATS cluster, with two remote runners.

An execution submitted on one replica is awaited, streamed and cancelled on the other, and what a
killed replica held (an inline workflow) is taken over by the survivor.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flow_local.cluster.topology import Topology
from flow_local.cluster.workspace import Workspace, default_workspace
from flow_sdk._generated.types import ExecutionResult
from flow_sdk.platform_client import PlatformExecutionError

TICKS = """import time

def main(count: int, pause: float):
    for number in range(count):
        print(f"tick {number}", flush=True)
        time.sleep(pause)
    return {"ticks": count}
"""
SLOW = """import time

def main(log: str, seconds: float):
    open(log, "a").write("start\\n")
    time.sleep(seconds)
    open(log, "a").write("done\\n")
    return {"slept": seconds}
"""


@pytest.fixture(scope="module")
def side_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory the code blocks may write (their witness of what ran)."""
    return tmp_path_factory.mktemp("side")


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory, side_dir: Path) -> Iterator[Topology]:
    """Two replicas and two runners of two workers each."""
    root = tmp_path_factory.mktemp("replicas")
    with Topology(root, replicas=2, runners=2, workers=2, writable=side_dir) as started:
        yield started


@pytest.fixture(scope="module")
def workspace(topology: Topology) -> Workspace:
    """The default workspace, with the test's code blocks registered through the first replica."""
    found = default_workspace(topology.replicas[0].url, topology.api_key)
    found.create_code_block(topology.replicas[0].url, "cb-ticks", TICKS)
    found.create_code_block(topology.replicas[0].url, "cb-slow", SLOW)
    return found


def _submit(workspace: Workspace, url: str, component_id: str, inputs: dict[str, Any]) -> str:
    async def submit() -> str:
        async with workspace.sdk(url) as flow:
            handle = await flow.code_blocks.submit(component_id, inputs)
            return str(handle["execution_id"])

    return asyncio.run(submit())


def _await(workspace: Workspace, url: str, execution_id: str) -> ExecutionResult:
    async def wait() -> ExecutionResult:
        async with workspace.sdk(url) as flow:
            return await flow.code_blocks.await_result(execution_id, timeout_seconds=120)

    return asyncio.run(wait())


def _stream(workspace: Workspace, url: str, execution_id: str) -> list[str]:
    """Every stdout line the execution pushed, read on ``url`` with long polls until it ended."""
    lines: list[str] = []
    after = 0
    with workspace.http(url) as client:
        while True:
            status = client.get(f"/executions/{execution_id}").json()["status"]
            events = client.get(
                f"/executions/{execution_id}/events", params={"after_seq": after, "wait_seconds": 5}
            ).json()
            for event in events:
                after = max(after, int(event["seq"]))
                if event["event_type"] == "message" and event["data"].get("stream") == "stdout":
                    lines += str(event["data"]["text"]).splitlines()
            if not events and status not in ("pending", "running"):
                return lines


def _wait_for(path: Path, text: str) -> None:
    deadline = time.monotonic() + 60
    while not (path.exists() and text in path.read_text()):
        assert time.monotonic() < deadline, f"{path} never said {text!r}"
        time.sleep(0.05)


def test_submitted_on_one_replica_streamed_and_awaited_on_the_other(
    topology: Topology, workspace: Workspace
) -> None:
    first, second = (replica.url for replica in topology.replicas)
    execution_id = _submit(workspace, first, "cb-ticks", {"count": 5, "pause": 0.2})
    assert _stream(workspace, second, execution_id) == [f"tick {n}" for n in range(5)]
    result = _await(workspace, second, execution_id)
    assert result["status"] == "completed" and result["output"] == {"ticks": 5}


def test_a_long_poll_on_the_other_replica_is_woken_by_the_end(
    topology: Topology, workspace: Workspace
) -> None:
    first, second = (replica.url for replica in topology.replicas)
    execution_id = _submit(workspace, first, "cb-ticks", {"count": 2, "pause": 0.5})
    # The replica holding the request did not store the end: only the other replica's notice can wake
    # it before the 60 s the request asks for, and the client gives up after 30.
    with workspace.http(second) as client:
        body = client.get(f"/executions/{execution_id}/result", params={"wait_seconds": 60}).json()
    assert body["status"] == "completed"


def test_cancelled_on_the_other_replica_stops_the_run(
    topology: Topology, workspace: Workspace, side_dir: Path
) -> None:
    first, second = (replica.url for replica in topology.replicas)
    log = side_dir / "slow.log"
    execution_id = _submit(workspace, first, "cb-slow", {"log": str(log), "seconds": 30})
    _wait_for(log, "start")
    with workspace.http(second) as client:
        response = client.post(f"/executions/{execution_id}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    with pytest.raises(PlatformExecutionError, match="cancelled"):
        _await(workspace, first, execution_id)
    # The worker was killed: a later execution on the same runners completes while "done" never comes.
    assert (
        _await(workspace, first, _submit(workspace, first, "cb-ticks", {"count": 1, "pause": 0}))["status"]
        == "completed"
    )
    assert log.read_text().splitlines() == ["start"]


def test_an_inline_workflow_of_a_killed_replica_is_run_again_by_the_other(
    topology: Topology, workspace: Workspace, side_dir: Path
) -> None:
    first, second = (replica.url for replica in topology.replicas)
    log = side_dir / "step.log"
    steps = [
        {
            "id": "sleep",
            "component_type": "code_block",
            "component_id": "cb-slow",
            "inputs": {"log": "$.input.log", "seconds": "$.input.seconds"},
        }
    ]
    workflow = {"steps": steps, "output": {"slept": "$.steps.sleep.output.slept"}}
    with workspace.http(first) as client:
        body = {"id": "wf-sleep", "name": "wf-sleep", "spec": workflow}
        assert client.post("/components/workflow", json=body).status_code == 201
        submitted = client.post(
            "/executions",
            json={
                "component_type": "workflow",
                "component_id": "wf-sleep",
                "ring_id": workspace.ring_id,
                "input": {"log": str(log), "seconds": 2},
            },
        )
    assert submitted.status_code == 202, submitted.text
    execution_id = submitted.json()["execution_id"]
    _wait_for(log, "start")
    topology.replicas[0].kill()
    with workspace.http(second) as client:
        deadline = time.monotonic() + 120
        while (record := client.get(f"/executions/{execution_id}").json())["status"] in (
            "pending",
            "running",
        ):
            assert time.monotonic() < deadline, record
            client.get(f"/executions/{execution_id}/result", params={"wait_seconds": 10})
    assert record["status"] == "completed", record
    assert record["attempt"] == 2
    assert httpx.get(f"{second}/api/v1/health").status_code == 200
