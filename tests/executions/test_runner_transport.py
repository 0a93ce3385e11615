"""What travels between the platform and its runners.

Small inputs travel inside the job; large ones, and every one while an older runner is live, on their
own subject. A runner's heartbeat before it claims a job marks it running (no status message); an end
that arrives before the platform heard of the start stores both in one write.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.client import JetStreamContext

from flow_local.areas.executions import service_of
from flow_local.harness import LocalPlatform
from flow_local.runtime.engine import ExecutionEngine
from flow_local.runtime.inputs import read_input
from flow_local.runtime.runner import Runner
from flow_sdk.runtime_contract import (
    DISPATCH_STREAM,
    HEARTBEAT_SUBJECT,
    INPUT_STREAM,
    JOB_INPUT_BYTES,
    RUNNERS_CONSUMER,
    STATUS_STREAM,
    dispatch_subject,
    output_subject,
    status_subject,
)

from .conftest import create_component, start_platform

ECHO = "def main(x: object) -> dict:\n    return {'size': len(str(x))}\n"


@pytest.fixture(scope="module")
def idle() -> Iterator[LocalPlatform]:
    """A platform with no runner of its own: the tests play the runners."""
    platform = start_platform(workers="0")
    create_component(platform, "code_block", "cb-size", {"source": ECHO})
    yield platform
    platform.stop()


@pytest.fixture
async def nc(idle: LocalPlatform) -> AsyncIterator[NatsClient]:
    assert idle.platform is not None
    client = await nats.connect(idle.platform.extras["platform_nats_url"])
    yield client
    await client.close()


def _engine(lp: LocalPlatform) -> ExecutionEngine:
    assert lp.platform is not None
    return service_of(lp.platform)


def _submit(lp: LocalPlatform, x: Any) -> str:
    base = f"{lp.url}/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
    body = {
        "component_type": "code_block",
        "component_id": "cb-size",
        "ring_id": lp.ring_id,
        "input": {"x": x},
    }
    headers = {"Authorization": f"Bearer {lp.admin_token}"}
    response = httpx.post(f"{base}/executions", json=body, headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    return str(response.json()["execution_id"])


def _result(lp: LocalPlatform, execution_id: str) -> dict[str, Any]:
    base = f"{lp.url}/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
    headers = {"Authorization": f"Bearer {lp.admin_token}"}
    response = httpx.get(
        f"{base}/executions/{execution_id}/result", params={"wait_seconds": 30}, headers=headers, timeout=60
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _announce(nc: NatsClient, runner_id: str, **fields: Any) -> None:
    """A heartbeat of a runner that holds nothing (as an idle runner of some version sends it)."""
    await nc.publish(
        HEARTBEAT_SUBJECT, json.dumps({"runner_id": runner_id, "executions": [], **fields}).encode()
    )
    await nc.flush()
    await asyncio.sleep(0.2)  # the platform has it before the next submit


async def _queued_job(js: JetStreamContext, execution_id: str) -> dict[str, Any]:
    """The one job queued for an execution (read without taking it)."""
    info = await js.stream_info(DISPATCH_STREAM, subjects_filter=dispatch_subject(execution_id))
    assert info.state.subjects == {dispatch_subject(execution_id): 1}
    message = await js.get_last_msg(DISPATCH_STREAM, dispatch_subject(execution_id))
    return dict(json.loads(message.data or b"{}"))


@contextlib.asynccontextmanager
async def _runner(lp: LocalPlatform) -> AsyncIterator[None]:
    """A runner of this version working the queue meanwhile."""
    assert lp.platform is not None
    runner = Runner(lp.platform.extras["runner_nats_url"], size=1)
    await runner.start()
    try:
        yield
    finally:
        await runner.stop()


async def test_a_small_input_rides_in_the_job_and_a_second_dispatch_is_dropped(
    idle: LocalPlatform, nc: NatsClient
) -> None:
    js = nc.jetstream()
    await _announce(nc, "runner-new", workers=1, job_input=True)
    inputs_before = (await js.stream_info(INPUT_STREAM)).state.last_seq
    execution_id = await asyncio.to_thread(_submit, idle, "abc")
    job = await _queued_job(js, execution_id)
    assert job["input"]["input_data"] == {"x": "abc"} and job["input"]["execution_id"] == execution_id
    # A second dispatch of the same attempt (a replica recovering it) is dropped by its message id.
    engine = _engine(idle)
    loop = next(iter(engine._tasks)).get_loop()
    assert engine.store is not None
    record = engine.store.get(execution_id)
    await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(engine._dispatch(record, job["spec"]), loop))
    await _queued_job(js, execution_id)
    assert (await js.stream_info(INPUT_STREAM)).state.last_seq == inputs_before
    async with _runner(idle):
        result = await asyncio.to_thread(_result, idle, execution_id)
    assert (result["status"], result["output"]) == ("completed", {"size": 3})


async def test_a_large_input_and_an_older_runner_use_the_input_subject(
    idle: LocalPlatform, nc: NatsClient
) -> None:
    js = nc.jetstream()
    await _announce(nc, "runner-new", workers=1, job_input=True)
    large = "y" * JOB_INPUT_BYTES
    large_id = await asyncio.to_thread(_submit, idle, large)
    await _announce(nc, "runner-old", workers=1)  # no job_input: it reads inputs from their subject only
    small_id = await asyncio.to_thread(_submit, idle, "abc")
    for execution_id, size in ((large_id, len(large)), (small_id, 3)):
        assert "input" not in await _queued_job(js, execution_id)
        stored = await read_input(js, execution_id, None)
        assert stored is not None and len(stored.message["input_data"]["x"]) == size
    async with _runner(idle):
        results = [await asyncio.to_thread(_result, idle, i) for i in (large_id, small_id)]
    for execution_id, size, result in ((large_id, len(large), results[0]), (small_id, 3, results[1])):
        assert (result["status"], result["output"]) == ("completed", {"size": size})
        assert await read_input(js, execution_id, None) is None


async def test_a_claimed_job_is_running_without_a_status_message(idle: LocalPlatform, nc: NatsClient) -> None:
    js = nc.jetstream()
    execution_id = await asyncio.to_thread(_submit, idle, "abc")
    async with _runner(idle):
        result = await asyncio.to_thread(_result, idle, execution_id)
    assert result["status"] == "completed"
    info = await js.stream_info(STATUS_STREAM, subjects_filter=status_subject(execution_id))
    assert not info.state.subjects
    record = await asyncio.to_thread(_record, idle, execution_id)
    assert record["created_at"] <= record["started_at"] <= record["finished_at"]
    assert set(result["timings"]) == {"total_ms", "queued_ms", "run_ms"}


async def test_an_end_before_any_heartbeat_stores_the_start_with_it(
    idle: LocalPlatform, nc: NatsClient
) -> None:
    """A runner the platform never heard (its heartbeats lost) ends a job: start and end in one write."""
    js = nc.jetstream()
    execution_id = await asyncio.to_thread(_submit, idle, "abc")
    queue = await js.pull_subscribe_bind(RUNNERS_CONSUMER, stream=DISPATCH_STREAM)
    job = json.loads((await queue.fetch(1, timeout=10))[0].data)
    assert job["execution_id"] == execution_id
    assert (await asyncio.to_thread(_record, idle, execution_id))["status"] == "pending"
    started_at = datetime.now(UTC).isoformat(timespec="microseconds")
    output = {
        "execution_id": execution_id,
        "deployment_id": None,
        "output": {"size": 3},
        "usage": None,
        "messages": None,
        "state": None,
        "error": None,
        "timestamp": started_at,
        "events_seq": 0,
        "started_at": started_at,
    }
    await js.publish(output_subject(execution_id), json.dumps(output).encode())
    result = await asyncio.to_thread(_result, idle, execution_id)
    assert (result["status"], result["output"]) == ("completed", {"size": 3})
    record = await asyncio.to_thread(_record, idle, execution_id)
    started, finished = (datetime.fromisoformat(record[k]) for k in ("started_at", "finished_at"))
    assert started == datetime.fromisoformat(started_at) <= finished
    assert "run_ms" in result["timings"]


def _record(lp: LocalPlatform, execution_id: str) -> dict[str, Any]:
    base = f"{lp.url}/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
    headers = {"Authorization": f"Bearer {lp.admin_token}"}
    response = httpx.get(f"{base}/executions/{execution_id}", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())
