"""Every event published before an output is stored before the execution's end.

The runner names the sequence of its last event in the output, so the platform asks the events stream
nothing for an execution that never connected to NATS itself; one whose code published its own events
has them stored before its end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from flow_local.harness import LocalPlatform
from flow_sdk import FlowSDK
from flow_sdk.runtime_contract import EVENTS_STREAM

from .conftest import create_component

PRINTS = "def main(n: int) -> dict:\n    for i in range(n):\n        print(f'line {i}', flush=True)\n    return {'n': n}\n"
OWN_EVENTS = """
import json, os
import nats

async def main(n: int) -> dict:
    execution_id = os.environ["EXECUTION_ID"]
    nc = await nats.connect(os.environ["NATS_URL"])
    for i in range(n):
        event = {"execution_id": execution_id, "deployment_id": None, "event_type": "message",
                 "event_data": {"stream": "stdout", "text": f"own {i}\\n"}, "timestamp": ""}
        await nc.publish(f"exec.events.{execution_id}", json.dumps(event).encode())
    await nc.flush()
    await nc.close()
    return {"n": n}
"""
OWN_EVENT_COUNT = 300
"""Events published without waiting for acknowledgements: more than the platform stores before the
output arrives unless it waits for them, few enough to be stored within its wait (1 s) on a busy machine."""


@pytest.fixture
async def stream_info_requests(lp: LocalPlatform) -> AsyncIterator[list[Msg]]:
    """The ``STREAM.INFO`` requests sent for the events stream while the test runs (seen on the server)."""
    assert lp.platform is not None
    client: NatsClient = await nats.connect(lp.platform.extras["platform_nats_url"])
    seen: list[Msg] = []

    async def record(msg: Msg) -> None:
        seen.append(msg)

    await client.subscribe(f"$JS.API.STREAM.INFO.{EVENTS_STREAM}", cb=record)
    await client.flush()
    yield seen
    await client.close()


async def test_an_execution_that_never_connects_ends_without_asking_the_events_stream(
    lp: LocalPlatform, flow: FlowSDK, stream_info_requests: list[Msg]
) -> None:
    create_component(lp, "code_block", "cb-prints", {"source": PRINTS})
    result = await flow.code_blocks.run(code_block_id="cb-prints", input_parameters={"n": 3})
    assert result["status"] == "completed"
    assert result["stdout"] == "line 0\nline 1\nline 2\n"
    assert stream_info_requests == []


async def test_events_an_execution_published_itself_are_stored_before_its_end(
    lp: LocalPlatform, flow: FlowSDK, stream_info_requests: list[Msg]
) -> None:
    create_component(lp, "code_block", "cb-own-events", {"source": OWN_EVENTS})
    result = await flow.code_blocks.run(
        code_block_id="cb-own-events", input_parameters={"n": OWN_EVENT_COUNT}
    )
    assert result["status"] == "completed", result
    # The stdout of the result is read from the events stored when the end is written.
    assert result["stdout"] == "".join(f"own {i}\n" for i in range(OWN_EVENT_COUNT))
    assert len(stream_info_requests) >= 1
