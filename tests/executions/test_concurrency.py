"""Many executions at once, and the runner's direct read of inputs (no per-execution consumer)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.js.client import JetStreamContext

from flow_local.harness import LocalPlatform
from flow_local.runtime.inputs import read_input, remove_input
from flow_local.runtime.nats_server import PLATFORM_USER, RUNNER_USER, NatsServer
from flow_local.runtime.runner import Runner
from flow_local.runtime.streams import ensure_runner_consumer, ensure_streams
from flow_sdk import FlowSDK
from flow_sdk.runtime_contract import INPUT_STREAM, dispatch_subject, input_subject

from .conftest import create_component

ECHO = "def main(x: int) -> dict:\n    print(f'line {x}')\n    return {'x': x, 'double': 2 * x}\n"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[NatsServer]:
    """A fresh nats-server with the execution streams."""
    started = NatsServer(tmp_path / "nats")
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def js(server: NatsServer) -> AsyncIterator[JetStreamContext]:
    """A JetStream context on ``server``, the streams created."""
    client = await nats.connect(server.user_url(PLATFORM_USER))
    jetstream = client.jetstream()
    await ensure_streams(jetstream)
    await ensure_runner_consumer(jetstream)
    try:
        yield jetstream
    finally:
        await client.close()


async def test_a_burst_keeps_each_output_and_stdout_with_its_execution(
    lp: LocalPlatform, flow: FlowSDK
) -> None:
    create_component(lp, "code_block", "cb-echo", {"source": ECHO})
    results = await asyncio.gather(
        *(flow.code_blocks.run(code_block_id="cb-echo", input_parameters={"x": x}) for x in range(30))
    )
    for x, result in enumerate(results):
        assert result["status"] == "completed"
        assert result["output"] == {"x": x, "double": 2 * x}
        assert result["stdout"] == f"line {x}\n"


async def test_the_input_leaves_the_queue_without_a_consumer(lp: LocalPlatform, flow: FlowSDK) -> None:
    create_component(lp, "code_block", "cb-echo", {"source": ECHO})
    assert lp.platform is not None
    client = await nats.connect(lp.platform.extras["platform_nats_url"])
    try:
        js = client.jetstream()
        handle = await flow.code_blocks.submit(code_block_id="cb-echo", input_parameters={"x": 4})
        result = await flow.code_blocks.await_result(handle["execution_id"], timeout_seconds=30)
        assert result["output"] == {"x": 4, "double": 8}
        assert await read_input(js, handle["execution_id"], None) is None
        assert await js.consumers_info(INPUT_STREAM) == []
    finally:
        await client.close()


async def test_remove_input_keeps_a_newer_input_of_the_same_execution(js: JetStreamContext) -> None:
    subject = input_subject("ex-retry")
    await js.publish(subject, json.dumps({"input_data": {"attempt": 1}}).encode())
    first = await read_input(js, "ex-retry", "dep-1")
    assert first is not None and first.message["input_data"] == {"attempt": 1}
    assert first.message["deployment_id"] == "dep-1" and first.message["session_id"] is None
    await js.publish(subject, json.dumps({"input_data": {"attempt": 2}}).encode())
    await remove_input(js, "ex-retry", first.seq)
    second = await read_input(js, "ex-retry", None)
    assert second is not None and second.message["input_data"] == {"attempt": 2}
    await remove_input(js, "ex-retry", second.seq)
    assert await read_input(js, "ex-retry", None) is None


async def test_runner_waits_for_an_input_published_after_the_job(
    server: NatsServer, js: JetStreamContext
) -> None:
    """The fallback path: no input stored when the runner takes the job, so it waits for it (SDK fetch)."""
    job = {
        "execution_id": "ex-late",
        "component_type": "code_block",
        "component_id": "cb-echo",
        "spec": {"source": ECHO},
        "env": {"EXECUTION_ID": "ex-late"},
        "timeout_seconds": 30,
        "attempt": 1,
    }
    outputs = await js.pull_subscribe("exec.output.ex-late", stream="EXEC_OUTPUT")
    runner = Runner(server.user_url(RUNNER_USER), size=1)
    await runner.start()
    try:
        await js.publish(dispatch_subject("ex-late"), json.dumps(job).encode())
        await asyncio.sleep(1.0)
        await js.publish(input_subject("ex-late"), json.dumps({"input_data": {"x": 5}}).encode())
        message = (await outputs.fetch(1, timeout=30))[0]
    finally:
        await runner.stop()
    assert json.loads(message.data)["output"] == {"x": 5, "double": 10}
    assert await read_input(js, "ex-late", None) is None
