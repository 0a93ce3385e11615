"""Many executions at once, and the worker's direct read of inputs (no per-execution consumer)."""

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
from flow_local.runtime.nats_server import NatsServer, free_port
from flow_local.runtime.streams import INPUT_STREAM, ensure_streams, input_subject
from flow_local.runtime.worker import RUNTIME_VARIABLES, Worker
from flow_sdk import FlowSDK

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
    client = await nats.connect(server.url)
    jetstream = client.jetstream()
    await ensure_streams(jetstream)
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
    client = await nats.connect(lp.platform.extras["nats_url"])
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


async def test_worker_waits_for_an_input_published_after_the_job(
    server: NatsServer, js: JetStreamContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback path: no input stored when the job arrives, so the worker waits for it (SDK fetch).

    The job names a NATS server that is gone (queued before a restart that moved it): the worker keeps
    to its runner's server.
    """
    for name in RUNTIME_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NATS_URL", server.url)
    job = {
        "execution_id": "ex-late",
        "component_type": "code_block",
        "spec": {"source": ECHO},
        "env": {"NATS_URL": f"nats://127.0.0.1:{free_port()}", "EXECUTION_ID": "ex-late"},
    }
    outputs = await js.pull_subscribe("exec.output.ex-late", stream="EXEC_OUTPUT")
    worker = Worker()
    running = asyncio.create_task(worker.run(job))
    await asyncio.sleep(0.3)
    assert not running.done()
    await js.publish(input_subject("ex-late"), json.dumps({"input_data": {"x": 5}}).encode())
    reply = await asyncio.wait_for(running, 30)
    assert reply == {"execution_id": "ex-late", "status": "completed", "recycle": False}
    message = (await outputs.fetch(1, timeout=5))[0]
    assert json.loads(message.data)["output"] == {"x": 5, "double": 10}
    assert await read_input(js, "ex-late", None) is None
