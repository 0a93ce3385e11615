"""Retries, idempotency keys, Retry-After, token refresh and billing headers, over httpx.MockTransport."""

from __future__ import annotations

import httpx
import pytest
from flow_unit_helpers import TOKEN, error_response, make_flow, make_platform

from flow_sdk import PlatformClientError
from flow_sdk._transport import (
    DEFAULT_MAX_RETRIES,
    RETRYABLE_STATUS_CODES,
    BearerAuth,
    RetryPolicy,
    build_sync_client,
)

HANDLE = {
    "execution_id": "ex1",
    "status": "pending",
    "component_type": "code_block",
    "component_id": "cb1",
    "created_at": "2026-01-01T00:00:00Z",
}


@pytest.mark.parametrize("status", sorted(RETRYABLE_STATUS_CODES))
async def test_retryable_status_is_retried_with_the_same_idempotency_key(
    status: int, sleeps: list[float]
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return (
            error_response(status) if len(seen) <= DEFAULT_MAX_RETRIES else httpx.Response(202, json=HANDLE)
        )

    flow = make_flow(handler)
    handle = await flow.code_blocks.submit("cb1", {"x": 1})
    assert handle["execution_id"] == "ex1"
    assert len(seen) == DEFAULT_MAX_RETRIES + 1
    keys = {request.headers["Idempotency-Key"] for request in seen}
    assert len(keys) == 1 and keys != {""}
    assert len(sleeps) == DEFAULT_MAX_RETRIES
    await flow.close()


async def test_retries_stop_after_max_retries_and_raise(sleeps: list[float]) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return error_response(503, detail="overloaded")

    flow = make_flow(handler)
    with pytest.raises(PlatformClientError) as info:
        await flow.code_blocks.get_status("ex1")
    assert calls == DEFAULT_MAX_RETRIES + 1
    assert info.value.status_code == 503 and info.value.detail == "overloaded"
    await flow.close()


async def test_non_retryable_status_is_sent_once(sleeps: list[float]) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return error_response(400)

    flow = make_flow(handler)
    with pytest.raises(PlatformClientError):
        await flow.code_blocks.get_status("ex1")
    assert calls == 1 and sleeps == []
    await flow.close()


async def test_dropped_connection_is_retried_with_the_same_idempotency_key(sleeps: list[float]) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Idempotency-Key"])
        if len(seen) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        if len(seen) == 2:
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        return httpx.Response(202, json=HANDLE)

    flow = make_flow(handler)
    await flow.code_blocks.submit("cb1", {})
    assert len(seen) == 3 and len(set(seen)) == 1
    await flow.close()


async def test_dropped_connection_after_retries_raises_typed_error(sleeps: list[float]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    flow = make_flow(handler)
    with pytest.raises(PlatformClientError) as info:
        await flow.code_blocks.get_status("ex1")
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert info.value.path == "/api/v1/orgs/org1/workspaces/ws1/executions/ex1"
    await flow.close()


async def test_each_submission_gets_its_own_idempotency_key(sleeps: list[float]) -> None:
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        return httpx.Response(202, json=HANDLE)

    flow = make_flow(handler)
    await flow.code_blocks.submit("cb1", {})
    await flow.agents.submit("a1", {})
    assert len(set(keys)) == 2
    await flow.close()


async def test_retry_after_is_honoured(sleeps: list[float]) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(429, json={"detail": "slow down"}, headers={"Retry-After": "7"})
        return httpx.Response(200, json={"object": "list", "data": []})

    flow = make_flow(handler)
    models = await flow.gateway.list_models()
    assert models["data"] == []
    assert sleeps == [7.0]
    await flow.close()


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    for attempt in range(6):
        for _ in range(50):
            delay = policy.delay(attempt)
            assert 0.0 <= delay <= min(4.0, 0.5 * 2**attempt)


async def test_401_triggers_exactly_one_token_refresh(sleeps: list[float]) -> None:
    tokens: list[str] = []
    refreshes = 0

    def handler(request: httpx.Request) -> httpx.Response:
        tokens.append(request.headers["Authorization"])
        if request.headers["Authorization"] == f"Bearer {TOKEN}":
            return error_response(401, detail="expired")
        return httpx.Response(200, json={**HANDLE, "ring_id": "ring1"})

    async def refresh() -> str:
        nonlocal refreshes
        refreshes += 1
        return "fresh-token"

    client = make_platform(handler, on_auth_token_refresh=refresh)
    status = await client.get_execution_status("ex1")
    assert status["execution_id"] == "ex1"
    assert refreshes == 1
    assert tokens == [f"Bearer {TOKEN}", "Bearer fresh-token"]
    assert client.auth_token == "fresh-token"
    await client.close()


async def test_401_after_refresh_raises_without_second_refresh(sleeps: list[float]) -> None:
    refreshes = 0

    def refresh() -> str:
        nonlocal refreshes
        refreshes += 1
        return "still-bad"

    client = make_platform(
        lambda request: error_response(401, detail="expired"), on_auth_token_refresh=refresh
    )
    from flow_sdk.platform_client import PlatformAuthenticationError

    with pytest.raises(PlatformAuthenticationError):
        await client.get_execution_status("ex1")
    assert refreshes == 1
    await client.close()


async def test_refresh_auth_token_updates_every_cached_client(sleeps: list[float]) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"object": "list", "data": []})
        return httpx.Response(200, json={**HANDLE, "ring_id": "r"})

    flow = make_flow(handler, gateway_url="http://gateway.test")
    await flow.gateway.list_models()
    await flow.code_blocks.get_status("ex1")
    await flow.refresh_auth_token("new-token")
    await flow.gateway.list_models()
    await flow.code_blocks.get_status("ex1")
    assert seen == [f"Bearer {TOKEN}"] * 2 + ["Bearer new-token"] * 2
    await flow.close()


async def test_billing_headers_and_bearer_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    monkeypatch.setenv("PARENT_BILLING_TXN_ID", "txn-9")
    monkeypatch.setenv("LIFECYCLE_EVENT", "test")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    client = make_platform(handler)
    assert await client._request("GET", "/api/v1/tenants/orgs") == {"ok": True}
    headers = seen[0].headers
    assert headers["X-Parent-Billing-Txn-Id"] == "txn-9"
    assert headers["X-Lifecycle-Event"] == "test"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    await client.close()


async def test_one_pooled_client_shared_by_namespaces_and_closed_by_close(sleeps: list[float]) -> None:
    flow = make_flow(lambda request: httpx.Response(200, json={**HANDLE, "ring_id": "r"}))
    await flow.code_blocks.get_status("ex1")
    first = flow._session.client(flow._platform_url)
    await flow.agents.get_status("ex1")
    await flow.audit.list()
    assert flow._session.client(flow._platform_url) is first
    await flow.close()
    assert first.is_closed


def test_sync_client_retries_with_the_same_policy(sleeps: list[float]) -> None:
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        return error_response(502) if len(keys) == 1 else httpx.Response(200, json={"ok": True})

    client = build_sync_client(
        "http://platform.test", BearerAuth(TOKEN), transport=httpx.MockTransport(handler)
    )
    response = client.post("/api/v1/orgs/o/jobs", json={}, headers={"Idempotency-Key": "k1"})
    assert response.json() == {"ok": True}
    assert len(keys) == 2 and len(set(keys)) == 1
    assert len(sleeps) == 1
    client.close()


def test_timeout_default_and_env_override(monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    from flow_sdk import PlatformClient

    assert PlatformClient(base_url="http://x", auth_token="t").timeout == 300.0
    monkeypatch.setenv("FLOW_HTTP_TIMEOUT_SECONDS", "12.5")
    assert PlatformClient(base_url="http://x", auth_token="t").timeout == 12.5
    assert PlatformClient(base_url="http://x", auth_token="t", timeout=3).timeout == 3.0


def test_only_safe_requests_are_resent_and_x_should_retry_decides(
    sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path == "/hint-no":
            return httpx.Response(503, headers={"x-should-retry": "false"})
        if request.url.path == "/hint-yes" and seen.count("POST /hint-yes") == 1:
            return httpx.Response(400, headers={"x-should-retry": "true", "x-request-id": "req_hint"})
        if request.url.path == "/flaky" and seen.count("GET /flaky") == 1:
            return httpx.Response(503, headers={"x-request-id": "req_flaky"})
        if request.url.path == "/post":
            return httpx.Response(503)
        return httpx.Response(200, json={})

    client = build_sync_client(
        "http://platform.test", BearerAuth(TOKEN), transport=httpx.MockTransport(handler)
    )
    with caplog.at_level("INFO", logger="flow_sdk"):
        assert client.post("/post", json={}).status_code == 503  # no Idempotency-Key: sent once
        assert client.get("/hint-no").status_code == 503
        assert client.post("/hint-yes", json={}).status_code == 200
        assert client.get("/flaky").status_code == 200
    client.close()
    assert seen == [
        "POST /post",
        "GET /hint-no",
        "POST /hint-yes",
        "POST /hint-yes",
        "GET /flaky",
        "GET /flaky",
    ]
    retries = [record.getMessage() for record in caplog.records if record.levelname == "INFO"]
    assert len(retries) == 2
    assert "request_id=req_hint" in retries[0] and "request_id=req_flaky" in retries[1]
    assert all(TOKEN not in message for message in retries)


def test_connect_mode_retries_only_a_failed_connection(sleeps: list[float]) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if len(seen) == 1:
            raise httpx.ConnectError("refused", request=request)
        if len(seen) == 2:
            return httpx.Response(502)
        raise AssertionError("a hosted-service call must not be sent a third time")

    client = build_sync_client(
        "http://platform.test", BearerAuth(TOKEN), transport=httpx.MockTransport(handler)
    )
    response = client.get("/svc", extensions={"flow_retry": "connect"})
    client.close()
    assert response.status_code == 502 and len(seen) == 2


def test_user_agent_names_sdk_python_and_os() -> None:
    import platform

    from flow_sdk._transport import user_agent

    assert user_agent().startswith("manifest-flow-sdk/")
    assert f"Python/{platform.python_version()}" in user_agent() and platform.system() in user_agent()


async def test_hosted_service_calls_are_retried_only_when_the_caller_opts_in(sleeps: list[float]) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return error_response(503)

    flow = make_flow(handler)
    with pytest.raises(PlatformClientError):
        await flow.services.get("/report")
    assert calls == 1, "a hosted-service call is sent once unless the caller opts in"
    with pytest.raises(PlatformClientError):
        await flow.with_options(retry_service_calls=True).services.get("/report")
    assert calls == 1 + DEFAULT_MAX_RETRIES + 1
    await flow.close()


def test_resend_mode_sends_a_keyless_post_again_like_an_idempotent_request(sleeps: list[float]) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if len(seen) == 1:
            raise httpx.ReadTimeout("no answer", request=request)
        if len(seen) == 2:
            return httpx.Response(503)
        return httpx.Response(200, json={"results": []})

    client = build_sync_client(
        "http://platform.test", BearerAuth(TOKEN), transport=httpx.MockTransport(handler)
    )
    response = client.post("/batch", json={}, extensions={"flow_retry": "resend"})
    client.close()
    assert response.status_code == 200 and seen == ["/batch"] * 3
