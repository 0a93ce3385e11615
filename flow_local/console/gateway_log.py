"""A record of every gateway call (model, provider, tokens, latency, status), for the console's call log.

:class:`GatewayCallRecorder` is an ASGI middleware around the gateway's routes: it reads the model
from the request body, the provider from the answer's ``X-Flow-Provider`` header and the token usage
from a JSON answer (a streamed answer records no usage), and stores one row per call.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flow_local._generated.routers.gateway import CREATE_CHAT_COMPLETION_PATH, CREATE_EMBEDDING_PATH
from flow_local.core import Platform
from flow_local.errors import ApiError
from flow_local.gateway import catalog
from flow_local.values import new_id, now_iso

SCHEMA = [
    "CREATE TABLE gateway_calls (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, subject TEXT NOT NULL,"
    " operation TEXT NOT NULL, model TEXT, provider TEXT, status INTEGER NOT NULL, prompt_tokens INTEGER,"
    " completion_tokens INTEGER, total_tokens INTEGER, latency_ms REAL NOT NULL, created_at TEXT NOT NULL)",
    "CREATE INDEX gateway_calls_org ON gateway_calls (org_id, created_at)",
]
MAX_BODY_BYTES = 1024 * 1024
MAX_MODEL_CHARS = 200
# The recorded operations, by path, with the name the log shows (the path after the gateway's `v1/`).
RECORDED_OPERATIONS = {
    path: path.rsplit("/v1/", 1)[1] for path in (CREATE_CHAT_COMPLETION_PATH, CREATE_EMBEDDING_PATH)
}


class GatewayCallLog:
    """The stored gateway calls of a platform."""

    def __init__(self, platform: Platform) -> None:
        self.db = platform.db
        self.db.migrate("console_gateway_calls", SCHEMA)

    def record(self, call: dict[str, Any]) -> None:
        """Store one call."""
        row = {"id": new_id(), "created_at": now_iso(), **call}
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.db.execute(f"INSERT INTO gateway_calls ({names}) VALUES ({marks})", tuple(row.values()))

    def recent(self, org_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The org's newest calls first."""
        rows = self.db.query(
            "SELECT * FROM gateway_calls WHERE org_id = ? ORDER BY created_at DESC LIMIT ?", (org_id, limit)
        )
        return [dict(row) for row in rows]


class GatewayCallRecorder:
    """ASGI middleware: records the gateway's chat and embedding calls in :class:`GatewayCallLog`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.operations = RECORDED_OPERATIONS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.operations:
            await self.app(scope, receive, send)
            return
        call = _Call(self.operations[scope["path"]])

        async def watched_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                call.request_body += message.get("body", b"")[: MAX_BODY_BYTES - len(call.request_body)]
            return message

        platform: Platform = scope["app"].state.platform

        async def watched_send(message: Message) -> None:
            call.observe(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                _store(platform, scope, call)  # before the caller sees the end of the answer
            await send(message)

        try:
            await self.app(scope, watched_receive, watched_send)
        finally:
            if not call.stored:
                _store(platform, scope, call)


class _Call:
    """What one gateway call showed of itself while passing through."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self.started = time.monotonic()
        self.request_body = b""
        self.response_body = b""
        self.status = 500
        self.provider: str | None = None
        self.json_answer = False
        self.stored = False

    def observe(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
            self.provider = headers.get(catalog.PROVIDER_HEADER.lower())
            self.json_answer = headers.get("content-type", "").startswith("application/json")
        elif message["type"] == "http.response.body" and self.json_answer:
            room = MAX_BODY_BYTES - len(self.response_body)
            self.response_body += message.get("body", b"")[:room]

    def fields(self) -> dict[str, Any]:
        """The columns of the call's row; anything of the wrong type (a bad request) is left empty."""
        usage = _json(self.response_body).get("usage")
        usage = usage if isinstance(usage, dict) else {}
        model = _json(self.request_body).get("model")
        return {
            "operation": self.operation,
            "model": model[:MAX_MODEL_CHARS] if isinstance(model, str) else None,
            "provider": self.provider,
            "status": self.status,
            "prompt_tokens": _count(usage.get("prompt_tokens")),
            "completion_tokens": _count(usage.get("completion_tokens")),
            "total_tokens": _count(usage.get("total_tokens")),
            "latency_ms": round((time.monotonic() - self.started) * 1000, 1),
        }


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _store(platform: Platform, scope: Scope, call: _Call) -> None:
    """Record the call under the caller's org, once (calls without a valid token are not recorded)."""
    call.stored = True
    headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
    token = headers.get("authorization", "").removeprefix("Bearer ").strip()
    try:
        principal = platform.tokens.verify(token)
    except ApiError:
        return
    fields = {"org_id": principal.org_id, "subject": principal.subject, **call.fields()}
    platform.backend(GatewayCallLog).record(fields)
