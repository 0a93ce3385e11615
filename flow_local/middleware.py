"""ASGI middleware: a request id on every request and response (``X-Request-Id``), and a last-resort
500 `Error` answer for any exception that escapes the application."""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

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
