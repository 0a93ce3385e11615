"""Helpers for unit tests: an httpx.MockTransport server and no real sleeping."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from flow_sdk import FlowSDK, PlatformClient
from flow_sdk.runtime_contract import RUNTIME_VARIABLES

TOKEN = "tok-SECRET-abc123"
Handler = Callable[[httpx.Request], httpx.Response]


def error_response(
    status: int, detail: str = "boom", code: str = "some_code", request_id: str = "req-1"
) -> httpx.Response:
    """The spec's error body with an X-Request-Id header."""
    body = {"detail": detail, "code": code, "request_id": request_id, "field": None}
    return httpx.Response(status, json=body, headers={"X-Request-Id": request_id})


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record retry and poll sleeps instead of sleeping."""
    recorded: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr("flow_sdk._transport.async_sleep", fake_sleep)
    monkeypatch.setattr("flow_sdk._polling.sleep", fake_sleep)
    monkeypatch.setattr("flow_sdk._transport.sync_sleep", recorded.append)
    return recorded


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every runtime variable so configuration comes only from arguments."""
    for name in [*RUNTIME_VARIABLES, "FLOW_HTTP_TIMEOUT_SECONDS"]:
        monkeypatch.delenv(name, raising=False)


def make_flow(handler: Handler, **overrides: Any) -> FlowSDK:
    """A FlowSDK whose pooled client talks to ``handler``."""
    options: dict[str, Any] = {
        "org_id": "org1",
        "workspace_id": "ws1",
        "auth_token": TOKEN,
        "platform_url": "http://platform.test",
        "ring_id": "ring1",
        "service_id": "svc1",
    }
    options.update(overrides)
    flow = FlowSDK(**options)
    flow._session.transport = httpx.MockTransport(handler)
    return flow


def make_platform(handler: Handler, **overrides: Any) -> PlatformClient:
    """A PlatformClient whose pooled client talks to ``handler``."""
    options: dict[str, Any] = {
        "base_url": "http://platform.test",
        "auth_token": TOKEN,
        "org_id": "org1",
        "workspace_id": "ws1",
    }
    options.update(overrides)
    client = PlatformClient(**options)
    client._session.transport = httpx.MockTransport(handler)
    return client


def json_body(request: httpx.Request) -> Any:
    return json.loads(request.content)
