"""A minimal HTTP/1.1 server answering fixed, valid responses of the API document's shapes.

It exists so that the per-call benchmarks measure client overhead, not server work: every answer is
built once at start and written with one ``transport.write``. It speaks keep-alive HTTP/1.1 on
loopback, answers JSON for chat completions, state reads, organizations and components, and a
chunked ``text/event-stream`` of many chat chunks when a chat request asks for ``"stream": true``.

Run it as ``python -m benchmarks.fixed_server --port 0 --chunks 2000``; it prints ``PORT <n>`` on
stdout once it listens, and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

REQUEST_ID = "req-bench-fixed"
CHAT_PATH = b"/api/v1/gateway/v1/chat/completions"
CHAT_MODEL = "offline/echo"
CREATED_AT = "2025-01-15T10:30:00Z"


def chat_completion_body() -> dict[str, Any]:
    """A `ChatCompletion` of the document, as the server answers it."""
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1736937000,
        "model": CHAT_MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "The capital of France is Paris."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 21, "completion_tokens": 7, "total_tokens": 28},
    }


def chat_chunk(index: int) -> dict[str, Any]:
    """One `ChatCompletionChunk` carrying a short piece of text."""
    delta: dict[str, Any] = {"content": f"tok{index} "}
    if index == 0:
        delta["role"] = "assistant"
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1736937000,
        "model": CHAT_MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
    }


def state_entry_body() -> dict[str, Any]:
    """A `StateEntry` of the document."""
    return {"key": "last_sync_cursor", "value": "2025-01-15T10:30:00Z", "updated_at": CREATED_AT}


def orgs_body() -> list[dict[str, Any]]:
    """The answer of `GET /api/v1/tenants/orgs`: a list of `Org`."""
    return [{"id": "org-bench", "name": "Bench Org", "created_at": CREATED_AT}]


def component_body() -> dict[str, Any]:
    """A `Component` of the document (a code block)."""
    return {
        "id": "cb-bench",
        "component_type": "code_block",
        "name": "word-count",
        "description": None,
        "version": 1,
        "spec": {"source": "def main(text: str) -> dict:\n    return {'words': len(text.split())}\n"},
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT,
    }


def error_body(path: str) -> dict[str, Any]:
    """The document's `Error` object for an unknown path."""
    return {
        "detail": f"no fixed answer for {path}",
        "code": "not_found",
        "request_id": REQUEST_ID,
        "field": None,
    }


def json_response(status: int, payload: Any) -> bytes:
    """A complete HTTP/1.1 response with a JSON body and a Content-Length."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    reason = {200: "OK", 404: "Not Found"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        f"x-request-id: {REQUEST_ID}\r\n"
        "\r\n"
    )
    return head.encode() + body


def sse_response(chunks: int) -> bytes:
    """A complete chunked `text/event-stream` response: ``chunks`` chat chunks, then ``[DONE]``.

    Each SSE event is its own HTTP chunk, as a server flushing per token would send it.
    """
    events = [f"data: {json.dumps(chat_chunk(i), separators=(',', ':'))}\n\n" for i in range(chunks)]
    events.append("data: [DONE]\n\n")
    parts = [
        b"HTTP/1.1 200 OK\r\n"
        b"content-type: text/event-stream\r\n"
        b"cache-control: no-cache\r\n"
        b"transfer-encoding: chunked\r\n" + f"x-request-id: {REQUEST_ID}\r\n\r\n".encode()
    ]
    for event in events:
        data = event.encode()
        parts.append(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


class FixedAnswers:
    """The prebuilt responses, chosen by method and path."""

    def __init__(self, chunks: int) -> None:
        self.chat = json_response(200, chat_completion_body())
        self.stream = sse_response(chunks)
        self.state = json_response(200, state_entry_body())
        self.orgs = json_response(200, orgs_body())
        self.component = json_response(200, component_body())
        self.health = json_response(200, {"status": "ok"})

    def answer(self, method: bytes, path: bytes, body: bytes) -> bytes:
        """The response bytes for one request."""
        path = path.split(b"?", 1)[0]
        if method == b"POST" and path == CHAT_PATH:
            streaming = b'"stream":true' in body or b'"stream": true' in body
            return self.stream if streaming else self.chat
        if method == b"GET":
            if b"/state/" in path and b"/keys/" in path:
                return self.state
            if path == b"/api/v1/tenants/orgs":
                return self.orgs
            if b"/components/" in path:
                return self.component
            if path == b"/api/v1/health":
                return self.health
        return json_response(404, error_body(path.decode(errors="replace")))


class FixedProtocol(asyncio.Protocol):
    """Keep-alive HTTP/1.1 with pipelining; parses only what routing needs."""

    def __init__(self, answers: FixedAnswers) -> None:
        self._answers = answers
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._serve_one():
            pass

    def _serve_one(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = self._buffer[:end]
        length = content_length(head)
        total = end + 4 + length
        if len(self._buffer) < total:
            return False
        body = self._buffer[end + 4 : total]
        self._buffer = self._buffer[total:]
        request_line = head.split(b"\r\n", 1)[0].split(b" ")
        assert self._transport is not None
        self._transport.write(self._answers.answer(request_line[0], request_line[1], body))
        return True


def content_length(head: bytes) -> int:
    """The Content-Length of a request head (0 when absent)."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


async def serve(port: int, chunks: int) -> None:
    """Listen on 127.0.0.1 and print the bound port, then serve forever."""
    answers = FixedAnswers(chunks)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: FixedProtocol(answers), "127.0.0.1", port, backlog=512)
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=2000, help="chat chunks in a streamed answer")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.port, args.chunks))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
