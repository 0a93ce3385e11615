"""ASGI middleware: a request id on every request and response (``X-Request-Id``), a last-resort
500 `Error` answer for any exception that escapes the application, and a size limit on every body."""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("flow_local")
_VALID_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class RequestIdMiddleware:
    """Take the caller's ``X-Request-Id`` when sane, otherwise make one; echo it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._incoming(scope) or f"req_{uuid.uuid4().hex[:16]}"
        scope.setdefault("state", {})["request_id"] = request_id
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
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await _send_crash(send, request_id, exc)

    @staticmethod
    def _incoming(scope: Scope) -> str | None:
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                text = value.decode("latin-1")
                return text if _VALID_ID.match(text) else None
        return None


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


class BodyTooLarge(HTTPException):
    """A request body past its limit (rendered as the spec's 413 `Error`)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


class BodyLimitMiddleware:
    """Refuse bodies over their limit: at once on ``Content-Length``, else while they stream in.

    Bytes are counted as they arrive, so a chunked body is refused when it passes the limit, never
    buffered whole. Uploads (paths matching ``upload_paths``) get ``upload_limit``; every other body
    gets ``limit``.
    """

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int, upload_paths: re.Pattern[str]) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if self.upload_paths.match(scope.get("path", "")) else self.limit
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_too_large(send, scope, limit)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def _send_too_large(send: Send, scope: Scope, limit: int) -> None:
    """Answer 413 with the spec's Error body, without reading the body."""
    request_id = str(scope.get("state", {}).get("request_id") or f"req_{uuid.uuid4().hex[:16]}")
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
