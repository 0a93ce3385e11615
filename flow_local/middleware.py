"""The platform's one ASGI middleware: a request id on every request and response (``X-Request-Id``),
a size limit on every body, a last-resort 500 `Error` answer for any exception that escapes the
application, and detours for the few paths an extra layer watches (the gateway call log).

One pure ASGI layer instead of a stack: each layer costs every request a call frame and a wrapped
``send``; here a request pays for one of each, and ``receive`` is wrapped only when a body can come.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("flow_local")
_VALID_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
Detour = Callable[[ASGIApp], ASGIApp]
"""Wraps the application for the requests of some paths (for instance to record them)."""


class BodyTooLarge(HTTPException):
    """A request body past its limit (rendered as the spec's 413 `Error`)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


class PlatformMiddleware:
    """Request id, body limits, the last-resort 500 and path detours, in one layer.

    The caller's ``X-Request-Id`` is taken when sane, otherwise one is made; it is echoed on the
    response. A body over its limit is refused at once on ``Content-Length``, else while it streams in:
    bytes are counted as they arrive, so a chunked body is refused when it passes the limit, never
    buffered whole. Uploads (paths matching ``upload_paths``) get ``upload_limit``; every other body
    gets ``limit``. A ``POST`` to a path in ``detours`` goes through that detour's wrapper.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        upload_limit: int,
        upload_paths: re.Pattern[str],
        detours: Mapping[str, Detour] | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit
        self.upload_paths = upload_paths
        self.detours = {path: wrap(app) for path, wrap in (detours or {}).items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, length, chunked = _read_headers(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        path: str = scope["path"]
        if length or chunked:
            limit = self.upload_limit if self.upload_paths.match(path) else self.limit
            if length is not None and length > limit:
                await _send_too_large(send, request_id, limit)
                return
            receive = _counted(receive, limit)
        app = self.detours.get(path, self.app) if scope["method"] == "POST" else self.app
        raw_id = request_id.encode()
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers: list[Any] = [
                    h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", raw_id))
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        except Exception as exc:
            logger.exception("unhandled error on %s %s", scope.get("method"), path)
            if started:
                raise
            await _send_crash(send, request_id, exc)


def _read_headers(scope: Scope) -> tuple[str, int | None, bool]:
    """The request id (the caller's when sane, else a new one), the declared body length, and
    whether the body comes chunked, in one pass over the headers."""
    request_id = ""
    length: int | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            request_id = text if _VALID_ID.match(text) else ""
        elif name == b"content-length":
            text = value.decode("latin-1").strip()
            length = int(text) if text.isdigit() else None
            chunked = chunked or length is None
        elif name == b"transfer-encoding":
            chunked = True
    return request_id or new_request_id(), length, chunked


def new_request_id() -> str:
    """A fresh request id, ``req_`` and 16 random hex digits."""
    return f"req_{os.urandom(8).hex()}"


def _counted(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises :class:`BodyTooLarge` once more than ``limit`` body bytes arrived."""
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


_SIGNATURE = re.compile(r"(signature=)[^&\s\"]+", re.IGNORECASE)


class RedactSignatures(logging.Filter):
    """A log filter hiding presigned URL signatures (``signature=...``) in access-log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SIGNATURE.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _SIGNATURE.sub(r"\1[redacted]", record.msg)
        return True


def redact_access_log(logger_name: str = "uvicorn.access") -> None:
    """Install :class:`RedactSignatures` on the access log (once)."""
    access = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactSignatures) for f in access.filters):
        access.addFilter(RedactSignatures())


async def _send_too_large(send: Send, request_id: str, limit: int) -> None:
    """Answer 413 with the spec's Error body, without reading the body."""
    body = json.dumps(
        {
            "detail": f"the request body is larger than the limit of {limit} bytes",
            "code": "too_large",
            "request_id": request_id,
            "field": None,
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (b"x-request-id", request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_crash(send: Send, request_id: str, exc: Exception) -> None:
    """Answer 500 with the spec's Error body."""
    body = json.dumps(
        {
            "detail": f"the platform failed: {type(exc).__name__}",
            "code": "internal_error",
            "request_id": request_id,
            "field": None,
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
