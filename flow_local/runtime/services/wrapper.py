"""The ASGI middleware the runtime puts around a hosted service's app.

For each request it verifies the platform's ``X-Flow-Context`` header (401 without a valid one), then
binds the request context on every FlowSDK the service uses (``bind_request_context``: auth,
inbound headers, service, execution) for exactly that request, and resets it afterwards. Context
variables are per task, so concurrent requests each see their own caller. ``/__flow/health``
answers the platform's health check once the app has started.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from contextvars import Token
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from flow_local.runtime.services.binding import discover_flows
from flow_local.runtime.services.context import (
    CONTEXT_HEADER,
    CallerContext,
    ContextError,
    verify_context,
)
from flow_sdk import FlowSDK

HEALTH_PATH = "/__flow/health"


def service_info_from_env() -> dict[str, Any]:
    """``service`` of the request context: service id, component id and version of this process."""
    service_id = os.environ.get("SERVICE_ID", "")
    version = os.environ.get("FLOW_SERVICE_VERSION")
    return {
        "service_id": service_id,
        "component_id": os.environ.get("FLOW_SERVICE_COMPONENT_ID") or service_id,
        "version": int(version) if version else None,
    }


def _headers(scope: Scope) -> dict[str, str]:
    """Inbound headers, lowercased, without the platform's context header."""
    found: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        if name != CONTEXT_HEADER:
            found[name] = raw_value.decode("latin-1")
    return found


def _bearer(headers: dict[str, str]) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class FlowRuntimeMiddleware:
    """Verify the platform's context and bind it on the service's FlowSDK instances per request.

    Attributes:
        app: The user's ASGI app.
        context_key: The key the platform signs ``X-Flow-Context`` with for this version.
        service: The ``service`` part of every bound context.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        context_key: str,
        source_dir: Path,
        service: dict[str, Any] | None = None,
        flows: Callable[[], list[FlowSDK]] | None = None,
    ) -> None:
        self.app = app
        self.context_key = context_key
        self.source_dir = source_dir
        self.service = service if service is not None else service_info_from_env()
        self._flows_factory = flows
        self._flows: list[FlowSDK] | None = None

    def flows(self) -> list[FlowSDK]:
        """The FlowSDK instances to bind (found on the first request, after the app's startup)."""
        if self._flows is None:
            factory = self._flows_factory or (lambda: discover_flows(self.source_dir, self.app))
            self._flows = factory()
        return self._flows

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") == HEALTH_PATH:
            await _send_json(send, 200, {"status": "ok", "service": self.service})
            return
        headers = _headers(scope)
        try:
            caller = verify_context(self._context_value(scope), self.context_key)
        except ContextError as exc:
            await _send_json(send, 401, {"detail": str(exc), "code": "unauthorized"})
            return
        bound = self._bind(caller, headers)
        try:
            await self.app(scope, receive, send)
        finally:
            for flow, token in reversed(bound):
                flow.reset_request_context(token)

    @staticmethod
    def _context_value(scope: Scope) -> str | None:
        for raw_name, raw_value in scope.get("headers", []):
            if raw_name.decode("latin-1").lower() == CONTEXT_HEADER:
                return str(raw_value.decode("latin-1"))
        return None

    def _bind(self, caller: CallerContext, headers: dict[str, str]) -> list[tuple[FlowSDK, Token[Any]]]:
        auth = {
            "subject_id": caller.subject_id,
            "scopes": list(caller.scopes),
            "token_type": caller.token_type,
            "custom_claims": dict(caller.custom_claims),
            "token": _bearer(headers),
        }
        execution = {
            "execution_id": None,
            "request_id": caller.request_id,
            "job_id": caller.job_id,
        }
        return [
            (
                flow,
                flow.bind_request_context(
                    auth=auth, execution=execution, headers=headers, service=self.service
                ),
            )
            for flow in self.flows()
        ]
