"""Server-sent events for streamed chat completions: decode once, stop at ``[DONE]``, close on exit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from flow_sdk._chat_accumulator import ChatAccumulator
from flow_sdk._errors import GatewayStreamError

if TYPE_CHECKING:
    from flow_sdk._generated.types import ChatCompletion, ChatCompletionChunk

__all__ = ["ChatCompletionStream"]


class ChatCompletionStream:
    """An async iterator of chat completion chunks that is also an async context manager.

    Iterate it once with ``async for``, or use one of the helpers: :meth:`text_stream` yields only
    the text deltas, :meth:`final_completion` reads what is left and returns the assembled
    ``ChatCompletion``. ``[DONE]`` ends it; an ``event: error`` or a connection cut before ``[DONE]``
    raises :class:`GatewayStreamError`. Leaving the loop early, or leaving the ``async with`` block,
    closes the HTTP response.

    Attributes:
        response: The open streaming response.
    """

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._started = False
        self._finished = False
        self._accumulator = ChatAccumulator()

    def __repr__(self) -> str:
        return (
            f"ChatCompletionStream(status_code={self.response.status_code}, closed={self.response.is_closed})"
        )

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        if self._started:
            raise GatewayStreamError("a chat completion stream can only be iterated once")
        self._started = True
        return self._collected()

    async def text_stream(self) -> AsyncIterator[str]:
        """Yield the text of each content delta (empty deltas skipped), consuming the stream.

        Example::

            stream = await flow.gateway.stream_chat_completion(model, messages)
            async for text in stream.text_stream():
                print(text, end="")
            completion = await stream.final_completion()
        """
        async for chunk in self:
            for choice in chunk.get("choices") or []:
                content = (choice.get("delta") or {}).get("content")
                if content:
                    yield content

    async def final_completion(self) -> ChatCompletion:
        """Read the rest of the stream and return the completion assembled from all its chunks.

        Callable after a loop or :meth:`text_stream` ran to the end; raises
        :class:`GatewayStreamError` when the stream was left before its end.
        """
        if not self._started:
            async for _ in self:
                pass
        if not self._finished:
            raise GatewayStreamError("the chat completion stream was left before its end", method="POST")
        return self._accumulator.completion()

    async def _collected(self) -> AsyncIterator[ChatCompletionChunk]:
        """The decoded chunks, each one also folded into the accumulator."""
        async for chunk in self._chunks():
            self._accumulator.add(chunk)
            yield chunk
        self._finished = True

    async def __aenter__(self) -> ChatCompletionStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP response (idempotent)."""
        await self.response.aclose()

    async def _chunks(self) -> AsyncIterator[ChatCompletionChunk]:
        """Decode the SSE body into chunks; the fast path is one ``data:`` line per event."""
        event = ""
        data: list[str] = []
        loads = json.loads
        try:
            async for line in self.response.aiter_lines():
                if line.startswith("data:"):
                    data.append(line[6:] if line.startswith("data: ") else line[5:])
                elif not line:
                    if not data:
                        event = ""
                        continue
                    payload = data[0] if len(data) == 1 else "\n".join(data)
                    data = []
                    if event:
                        self._raise_for_event(event, payload)
                        event = ""
                        continue
                    if payload == "[DONE]":
                        return
                    yield loads(payload)
                elif line.startswith("event:"):
                    event = line[6:].strip()
                    if event == "message":
                        event = ""
        except httpx.HTTPError as exc:
            raise GatewayStreamError(
                f"chat completion stream was cut mid-way: {type(exc).__name__}: {exc}",
                code="stream_interrupted",
                method="POST",
                path=self.response.request.url.path,
            ) from exc
        finally:
            await self.response.aclose()
        if data and data[-1] == "[DONE]" and not event:
            return
        raise GatewayStreamError(
            "chat completion stream ended before [DONE]",
            code="stream_interrupted",
            method="POST",
            path=self.response.request.url.path,
        )

    def _raise_for_event(self, event: str, payload: str) -> None:
        """Raise for an ``event: error``; ignore other named events."""
        if event != "error":
            return
        body: Any
        try:
            body = json.loads(payload)
        except ValueError:
            body = {"detail": payload}
        if not isinstance(body, dict):
            body = {"detail": str(body)}
        detail = str(body.get("detail") or body.get("message") or "stream error")
        request_id = body.get("request_id") or self.response.headers.get("x-request-id")
        raise GatewayStreamError(
            f"chat completion stream failed: {detail}",
            status_code=self.response.status_code,
            detail=detail,
            code=body.get("code"),
            request_id=request_id,
            method="POST",
            path=self.response.request.url.path,
        )
