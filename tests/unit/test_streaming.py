"""SSE streaming of chat completions over httpx.MockTransport (the upstream gateway is simulated)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from flow_unit_helpers import make_flow

from flow_sdk import GatewayRateLimitError, GatewayStreamError

MESSAGES = [{"role": "user", "content": "Write a haiku about code."}]


def chunk(index: int) -> dict[str, object]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "offline/echo",
        "choices": [{"index": 0, "delta": {"content": f"w{index} "}, "finish_reason": None}],
    }


def sse(*events: str) -> bytes:
    return "".join(events).encode()


def data(payload: object) -> str:
    return f"data: {json.dumps(payload)}\n\n"


class TrackedStream(httpx.AsyncByteStream):
    """A response body that records whether it was closed, optionally cut after some parts."""

    def __init__(self, parts: list[bytes], cut: bool = False) -> None:
        self.parts = parts
        self.cut = cut
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part
            await asyncio.sleep(0)
        if self.cut:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    async def aclose(self) -> None:
        self.closed = True


def flow_streaming(stream: httpx.AsyncByteStream):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, stream=stream)

    return make_flow(handler)


async def test_chunks_arrive_in_order_and_done_ends_the_stream() -> None:
    body = TrackedStream(
        [data(chunk(i)).encode() for i in range(5)] + [b"data: [DONE]\n\n", data(chunk(99)).encode()]
    )
    flow = flow_streaming(body)
    seen = [
        c["choices"][0]["delta"]["content"]
        async for c in await flow.gateway.stream_chat_completion(model="offline/echo", messages=MESSAGES)
    ]
    assert seen == [f"w{i} " for i in range(5)]
    assert body.closed
    await flow.close()


async def test_multiline_data_and_comments_are_decoded() -> None:
    payload = json.dumps(chunk(1), indent=1).split("\n")
    event = ": keep-alive\n" + "".join(f"data: {line}\n" for line in payload) + "\n"
    flow = flow_streaming(TrackedStream([event.encode(), b"data: [DONE]\n\n"]))
    chunks = [
        c async for c in await flow.gateway.stream_chat_completion(model="offline/echo", messages=MESSAGES)
    ]
    assert chunks == [chunk(1)]
    await flow.close()


async def test_cut_mid_stream_raises_typed_error() -> None:
    flow = flow_streaming(TrackedStream([data(chunk(0)).encode()], cut=True))
    seen = []
    with pytest.raises(GatewayStreamError) as info:
        async for item in await flow.gateway.stream_chat_completion(model="offline/echo", messages=MESSAGES):
            seen.append(item)
    assert len(seen) == 1
    assert isinstance(info.value.__cause__, httpx.RemoteProtocolError)
    await flow.close()


async def test_end_without_done_raises_typed_error() -> None:
    flow = flow_streaming(TrackedStream([data(chunk(0)).encode()]))
    with pytest.raises(GatewayStreamError, match="before \\[DONE\\]"):
        async for _ in await flow.gateway.stream_chat_completion(model="offline/echo", messages=MESSAGES):
            pass
    await flow.close()


async def test_error_event_raises_with_detail_and_request_id() -> None:
    error = {"detail": "provider exploded", "code": "provider_error", "request_id": "rid-s", "field": None}
    flow = flow_streaming(
        TrackedStream([data(chunk(0)).encode(), f"event: error\ndata: {json.dumps(error)}\n\n".encode()])
    )
    with pytest.raises(GatewayStreamError) as info:
        async for _ in await flow.gateway.stream_chat_completion(model="offline/echo", messages=MESSAGES):
            pass
    assert info.value.detail == "provider exploded"
    assert info.value.code == "provider_error" and info.value.request_id == "rid-s"
    await flow.close()


async def test_leaving_the_loop_early_closes_the_response() -> None:
    body = TrackedStream([data(chunk(i)).encode() for i in range(50)] + [b"data: [DONE]\n\n"])
    flow = flow_streaming(body)
    stream = await flow.gateway.stream_chat_completion(model="offline/echo", messages=MESSAGES)
    async for _ in stream:
        break
    for _ in range(5):
        await asyncio.sleep(0)
    assert body.closed and stream.response.is_closed
    await flow.close()


async def test_async_with_closes_the_response() -> None:
    body = TrackedStream([data(chunk(i)).encode() for i in range(5)] + [b"data: [DONE]\n\n"])
    flow = flow_streaming(body)
    async with await flow.gateway.stream_chat_completion(model="offline/echo", messages=MESSAGES) as stream:
        async for _ in stream:
            break
    assert body.closed
    await flow.close()


async def test_refused_stream_raises_mapped_error_at_await(sleeps: list[float]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"detail": "quota", "code": "rate_limited", "request_id": "r"})

    flow = make_flow(handler)
    with pytest.raises(GatewayRateLimitError):
        await flow.gateway.stream_chat_completion(model="offline/echo", messages=MESSAGES)
    await flow.close()
