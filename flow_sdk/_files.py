"""Streamed uploads and downloads: a body read piece by piece, an answer written to disk as it arrives.

Memory stays constant whatever the size: at most one piece of ``CHUNK_SIZE`` bytes is held at a time.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import IO, TypeAlias, TypeVar, cast

import httpx

from flow_sdk._errors import FlowSDKError, map_http_error
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._requests import read_result, request_options
from flow_sdk.raw_response import record_response

__all__ = [
    "CHUNK_SIZE",
    "Progress",
    "UploadSource",
    "byte_chunks",
    "receive_to",
    "send_body",
    "source_length",
]

ResultT = TypeVar("ResultT")

CHUNK_SIZE = 1024 * 1024
UploadSource: TypeAlias = "str | os.PathLike[str] | IO[bytes] | Iterable[bytes] | AsyncIterable[bytes]"
"""A path, a binary file object opened for reading, or an (async) iterator of byte pieces."""
Progress: TypeAlias = Callable[[int], object]
"""Called with the number of bytes moved so far, after each piece."""


def source_length(source: UploadSource) -> int | None:
    """The size of a path or of a seekable file object from its position to its end, else None."""
    if isinstance(source, str | os.PathLike):
        return os.stat(source).st_size
    handle = _file_of(source)
    if handle is not None and handle.seekable():
        position = handle.tell()
        end = handle.seek(0, os.SEEK_END)
        handle.seek(position)
        return end - position
    return None


def _file_of(source: UploadSource) -> IO[bytes] | None:
    """``source`` as a file object when it has a ``read`` method."""
    return cast("IO[bytes]", source) if hasattr(source, "read") else None


async def byte_chunks(source: UploadSource, progress: Progress | None = None) -> AsyncIterator[bytes]:
    """Yield the bytes of ``source`` piece by piece, reporting progress after each piece.

    Raises:
        FlowSDKError: ``source`` is none of the accepted kinds, or an iterator yields something else.
    """
    sent = 0
    async for piece in _pieces(source):
        if not isinstance(piece, bytes | bytearray | memoryview):
            raise FlowSDKError(f"an upload source must yield bytes, got {type(piece).__name__}")
        if not piece:
            continue
        sent += len(piece)
        yield bytes(piece)
        if progress is not None:
            progress(sent)


async def _pieces(source: UploadSource) -> AsyncIterator[bytes]:
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as opened:
            async for piece in _file_pieces(opened):
                yield piece
    elif (handle := _file_of(source)) is not None:
        async for piece in _file_pieces(handle):
            yield piece
    elif isinstance(source, AsyncIterable):
        async for piece in source:
            yield piece
    elif isinstance(source, Iterable) and not isinstance(source, bytes | bytearray | memoryview | str):
        for piece in source:
            yield piece
    else:
        raise FlowSDKError(
            "an upload source must be a path, a binary file object or an iterator of bytes, "
            f"got {type(source).__name__} (use upload() for bytes)"
        )


async def _file_pieces(handle: IO[bytes]) -> AsyncIterator[bytes]:
    while piece := await asyncio.to_thread(handle.read, CHUNK_SIZE):
        yield piece


async def write_streamed(
    response: httpx.Response, path: str | os.PathLike[str], progress: Progress | None
) -> int:
    """Write a streamed answer to ``path`` through a temporary file renamed at the end; return its size.

    A failure part-way leaves no file at ``path`` (and whatever was there before, untouched).
    """
    target = Path(path)
    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False)  # noqa: SIM115
    written = 0
    try:
        with handle:
            async for piece in response.aiter_bytes(CHUNK_SIZE):
                await asyncio.to_thread(handle.write, piece)
                written += len(piece)
                if progress is not None:
                    progress(written)
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return written


async def send_body(
    client: httpx.AsyncClient, api: ApiRequest[ResultT], body: AsyncIterator[bytes], length: int | None
) -> ResultT:
    """Send a built request with ``body`` streamed in place of its content; return its typed result.

    A streamed body cannot be sent twice, so only a failure to connect is retried.

    Raises:
        FlowSDKError: The typed error for the status or transport failure.
    """
    headers = {"Content-Length": str(length)} if length is not None else None
    options = request_options(api, headers, retry="connect")
    options["content"] = body
    try:
        response = await client.request(api.method, api.path, **options)
    except httpx.HTTPError as exc:
        raise map_http_error(exc, "platform") from exc
    record_response(response)
    return read_result(api, response, "platform")


async def receive_to(
    client: httpx.AsyncClient, api: ApiRequest[bytes], path: str | os.PathLike[str], progress: Progress | None
) -> int:
    """Send a built request and stream its answer's body to ``path``; return the bytes written.

    Raises:
        FlowSDKError: The typed error for the status or transport failure (``path`` is then untouched).
    """
    try:
        async with client.stream(api.method, api.path, **request_options(api)) as response:
            if response.status_code >= 400:
                await response.aread()
                read_result(api, response, "platform")
            record_response(response)
            return await write_streamed(response, path, progress)
    except httpx.HTTPError as exc:
        raise map_http_error(exc, "platform") from exc
