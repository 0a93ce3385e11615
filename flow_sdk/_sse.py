"""Server-sent events for streamed chat completions: decode once, stop at ``[DONE]``, close on exit.

:class:`ChatCompletionStream` (async) and :class:`SyncChatCompletionStream` (sync) read the same
answer the same way: everything that does no I/O (decoding the lines, folding the chunks into the
final completion, the text deltas) is shared; the twins only read lines.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import httpx

from flow_sdk._chat_accumulator import ChatAccumulator
from flow_sdk._errors import GatewayStreamError

if TYPE_CHECKING:
    from flow_sdk._generated.types import ChatCompletion, ChatCompletionChunk

__all__ = ["ChatCompletionStream", "SyncChatCompletionStream"]


class _SseDecoder:
    """Turns the lines of a chat completion's SSE body into chunks; no I/O.

    :meth:`line` returns the chunk an event completes (None for any other line); :attr:`done` is set
    at ``[DONE]``. :meth:`end` checks a body that ended without it; :meth:`cut` names a broken read.
    """

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.done = False
        self._event = ""
        self._data: list[str] = []

    def line(self, line: str) -> ChatCompletionChunk | None:
        """Take one line; return the chunk it completes, if any (the fast path: one ``data:`` line)."""
        if line.startswith("data:"):
            self._data.append(line[6:] if line.startswith("data: ") else line[5:])
        elif not line:
            if not self._data:
                self._event = ""
                return None
            payload = self._data[0] if len(self._data) == 1 else "\n".join(self._data)
            self._data = []
            if self._event:
                self._raise_for_event(self._event, payload)
                self._event = ""
                return None
            if payload == "[DONE]":
                self.done = True
                return None
            chunk: ChatCompletionChunk = json.loads(payload)
            return chunk
        elif line.startswith("event:"):
            self._event = line[6:].strip()
            if self._event == "message":
                self._event = ""
        return None

    def end(self) -> None:
        """Raise unless the body reached ``[DONE]`` (also as an unterminated last event)."""
        if self.done or (self._data and self._data[-1] == "[DONE]" and not self._event):
            return
        raise GatewayStreamError(
            "chat completion stream ended before [DONE]",
            code="stream_interrupted",
            method="POST",
            path=self.response.request.url.path,
        )

    def cut(self, exc: httpx.HTTPError) -> GatewayStreamError:
        """The error of a body whose reading failed mid-way."""
        return GatewayStreamError(
            f"chat completion stream was cut mid-way: {type(exc).__name__}: {exc}",
            code="stream_interrupted",
            method="POST",
            path=self.response.request.url.path,
        )

    def _raise_for_event(self, event: str, payload: str) -> None:
        """Raise for an ``event: error``; ignore other named events."""
        if event != "error":
            return
        decoded: Any
        try:
            decoded = json.loads(payload)
        except ValueError:
            decoded = {"detail": payload}
        body = cast("dict[str, Any]", decoded) if isinstance(decoded, dict) else {"detail": str(decoded)}
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


def _texts(chunk: ChatCompletionChunk) -> list[str]:
    """The non-empty text deltas of a chunk."""
    found: list[str] = []
    for choice in chunk.get("choices") or []:
        content = (choice.get("delta") or {}).get("content")
        if content:
            found.append(content)
    return found


class _StreamState:
    """What both stream twins keep: the response, whether iteration started and ended, the chunks so far."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._started = False
        self._finished = False
        self._accumulator = ChatAccumulator()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.response.status_code}, closed={self.response.is_closed})"

    def _start(self) -> None:
        if self._started:
            raise GatewayStreamError("a chat completion stream can only be iterated once")
        self._started = True

    def _final(self) -> ChatCompletion:
        if not self._finished:
            raise GatewayStreamError("the chat completion stream was left before its end", method="POST")
        return self._accumulator.completion()


class ChatCompletionStream(_StreamState):
    """An async iterator of chat completion chunks that is also an async context manager.

    Iterate it once with ``async for``, or use one of the helpers: :meth:`text_stream` yields only
    the text deltas, :meth:`final_completion` reads what is left and returns the assembled
    ``ChatCompletion``. ``[DONE]`` ends it; an ``event: error`` or a connection cut before ``[DONE]``
    raises :class:`GatewayStreamError`. Leaving the loop early, or leaving the ``async with`` block,
    closes the HTTP response.

    Attributes:
        response: The open streaming response.
    """

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        self._start()
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
            for text in _texts(chunk):
                yield text

    async def final_completion(self) -> ChatCompletion:
        """Read the rest of the stream and return the completion assembled from all its chunks.

        Callable after a loop or :meth:`text_stream` ran to the end; raises
        :class:`GatewayStreamError` when the stream was left before its end.
        """
        if not self._started:
            async for _ in self:
                pass
        return self._final()

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
        decoder = _SseDecoder(self.response)
        try:
            async for line in self.response.aiter_lines():
                chunk = decoder.line(line)
                if chunk is not None:
                    yield chunk
                elif decoder.done:
                    return
        except httpx.HTTPError as exc:
            raise decoder.cut(exc) from exc
        finally:
            await self.response.aclose()
        decoder.end()


class SyncChatCompletionStream(_StreamState):
    """The sync twin of :class:`ChatCompletionStream`: an iterator of chunks and a context manager.

    Each chunk is decoded as its line arrives from the open response (nothing is read ahead), so the
    text can be shown as the model writes it. ``for`` over it once, or use :meth:`text_stream` and
    :meth:`final_completion`, as with the async stream.

    Example::

        with SyncFlowSDK() as flow:
            stream = flow.gateway.stream_chat_completion("openai/gpt-4o", messages)
            for text in stream.text_stream():
                print(text, end="", flush=True)
            completion = stream.final_completion()

    Attributes:
        response: The open streaming response.
    """

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        self._start()
        return self._collected()

    def text_stream(self) -> Iterator[str]:
        """Yield the text of each content delta (empty deltas skipped), consuming the stream."""
        for chunk in self:
            yield from _texts(chunk)

    def final_completion(self) -> ChatCompletion:
        """Read the rest of the stream and return the completion assembled from all its chunks."""
        if not self._started:
            for _ in self:
                pass
        return self._final()

    def _collected(self) -> Iterator[ChatCompletionChunk]:
        for chunk in self._chunks():
            self._accumulator.add(chunk)
            yield chunk
        self._finished = True

    def __enter__(self) -> SyncChatCompletionStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP response (idempotent)."""
        self.response.close()

    def _chunks(self) -> Iterator[ChatCompletionChunk]:
        decoder = _SseDecoder(self.response)
        try:
            for line in self.response.iter_lines():
                chunk = decoder.line(line)
                if chunk is not None:
                    yield chunk
                elif decoder.done:
                    return
        except httpx.HTTPError as exc:
            raise decoder.cut(exc) from exc
        finally:
            self.response.close()
        decoder.end()
