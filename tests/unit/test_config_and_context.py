"""Missing configuration, request context, state fail-closed, service auth forwarding, large writes."""

from __future__ import annotations

import httpx
import pytest
from flow_unit_helpers import TOKEN, json_body, make_flow

from flow_sdk import ConfigurationError, FlowSDK, FlowSDKError, PlatformClient


async def test_missing_org_id_names_the_variable(clean_env: None) -> None:
    flow = FlowSDK(auth_token="t", platform_url="http://x")
    with pytest.raises(FlowSDKError, match="ORG_ID is not set: pass org_id= or export ORG_ID"):
        await flow.secrets.get("A")


async def test_missing_platform_url_and_token(clean_env: None) -> None:
    with pytest.raises(ConfigurationError, match="PLATFORM_API_URL is not set"):
        await FlowSDK(org_id="o", workspace_id="w", auth_token="t").audit.log("a", "b", "c")
    with pytest.raises(ConfigurationError, match="AUTH_TOKEN is not set"):
        await FlowSDK(org_id="o", workspace_id="w", platform_url="http://x").audit.log("a", "b", "c")
    with pytest.raises(ValueError, match="PLATFORM_API_URL"):
        PlatformClient()


async def test_ring_id_required_for_executions(clean_env: None) -> None:
    flow = make_flow(lambda request: httpx.Response(500), ring_id=None)
    with pytest.raises(ConfigurationError, match="RING_ID is not set: pass ring_id= or export RING_ID"):
        await flow.code_blocks.submit("cb1", {})


def test_environment_auto_configuration(monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    monkeypatch.setenv("ORG_ID", "o1")
    monkeypatch.setenv("PLATFORM_API_URL", "http://p")
    flow = FlowSDK()
    assert flow._org_id == "o1" and flow._gateway_url == "http://p"


async def test_state_fails_closed_without_component_id() -> None:
    flow = make_flow(lambda request: httpx.Response(200, json={}))
    with pytest.raises(FlowSDKError, match="component_id"):
        await flow.state.get("k")
    token = flow.bind_request_context(service={"service_id": "svc1"})
    try:
        with pytest.raises(FlowSDKError, match="component_id"):
            await flow.state.set("k", 1)
    finally:
        flow.reset_request_context(token)


async def test_state_uses_bound_component() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200, json={"key": "cursor", "value": "2025"})

    flow = make_flow(handler)
    token = flow.bind_request_context(service={"component_id": "comp1"})
    try:
        assert await flow.state.get("cursor") == "2025"
    finally:
        flow.reset_request_context(token)
    assert paths == ["/api/v1/orgs/org1/workspaces/ws1/state/comp1/keys/cursor"]
    await flow.close()


def test_auth_namespace_reads_bound_context() -> None:
    flow = make_flow(lambda request: httpx.Response(200))
    assert flow.auth.subject_id is None and flow.auth.scopes == []
    token = flow.bind_request_context(
        auth={
            "subject_id": "user-123",
            "scopes": ["read", "admin"],
            "token_type": "service_token",
            "custom_claims": {"tenant_id": "t-1"},
        },
        headers={"X-Trace": "abc"},
    )
    try:
        assert flow.auth.subject_id == "user-123" and "admin" in flow.auth.scopes
        assert flow.auth.claim("tenant_id") == "t-1" and flow.auth.custom_claims.get("tenant_id") == "t-1"
        assert flow._request_context()["headers"] == {"x-trace": "abc"}
    finally:
        flow.reset_request_context(token)
    assert flow.auth.subject_id is None


async def test_caller_service_token_cannot_be_overridden() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    flow = make_flow(handler)
    token = flow.bind_request_context(auth={"subject_id": "u", "token": "inbound-tok"})
    try:
        await flow.services.post(
            "/process",
            body={"data": 1},
            service_id="down",
            auth="caller_service_token",
            headers={"authorization": "Bearer forged"},
        )
        await flow.services.post("/process", body={"data": 1}, service_id="down", reuse_service_token=True)
        await flow.services.call("GET", "/health", service_id="down", version=2)
        assert flow.service.auth.reuse(required=True) == {"Authorization": "Bearer inbound-tok"}
    finally:
        flow.reset_request_context(token)
    assert seen[0].headers["authorization"] == "Bearer inbound-tok"
    assert seen[1].headers["authorization"] == "Bearer inbound-tok"
    assert seen[2].headers["authorization"] == f"Bearer {TOKEN}"
    assert seen[0].url.path == "/api/v1/orgs/org1/services/down/process"
    assert seen[2].url.path == "/api/v1/orgs/org1/services/down/v2/health"
    with pytest.raises(FlowSDKError, match="inbound caller token"):
        await flow.services.post("/p", service_id="down", auth="caller_service_token")
    await flow.close()


async def test_large_insert_goes_through_write_job(sleeps: list[float]) -> None:
    seen: list[httpx.Request] = []
    job = {
        "job_id": "wj1",
        "status": "queued",
        "instance_id": "i1",
        "operation": "insert_rows",
        "created_at": "2026-01-01T00:00:00Z",
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/write-jobs"):
            return httpx.Response(202, json=job)
        if request.url.path == "/api/v1/connectors/write-jobs/wj1":
            done = len([r for r in seen if "write-jobs/wj1" in r.url.path]) > 1
            return httpx.Response(
                200, json={**job, "status": "completed" if done else "running", "rows_affected": 150}
            )
        return httpx.Response(200, json={"operation": "insert_rows", "rows_affected": 2})

    flow = make_flow(handler)
    small = await flow.connectors.insert_rows("i1", "users", [{"id": 1}, {"id": 2}])
    assert small["rows_affected"] == 2 and seen[0].url.path.endswith("/execute")
    big = await flow.connectors.insert_rows("i1", "users", [{"id": i} for i in range(150)])
    assert big == {"operation": "insert_rows", "rows_affected": 150, "job_id": "wj1"}
    assert seen[1].url.path == "/api/v1/connectors/instances/i1/write-jobs"
    assert "Idempotency-Key" in seen[1].headers and len(json_body(seen[1])["params"]["rows"]) == 150
    assert all(float(r.url.params["wait_seconds"]) > 0 for r in seen[2:])
    wide = await flow.connectors.execute_operation(
        "i1", "insert_rows", {"table": "t", "rows": [{"blob": "x" * 300_000}]}
    )
    assert wide["job_id"] == "wj1"
    await flow.close()


async def test_invalid_body_is_a_clear_error() -> None:
    flow = make_flow(lambda request: httpx.Response(200, json={}))
    with pytest.raises(FlowSDKError, match="model must be named 'provider/model'"):
        await flow.gateway.chat_completion(model="gpt", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(FlowSDKError, match="invalid storage key"):
        await flow.storage.download("../etc/passwd")
    with pytest.raises(FlowSDKError, match="claims must be a dict"):
        await flow.service_tokens.mint("fl_key")  # type: ignore[arg-type]
