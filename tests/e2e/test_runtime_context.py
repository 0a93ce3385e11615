"""The seed's request-context examples: auth, state, secrets, audit, conversations, inside a bound request."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import quote

import httpx
import pytest

from flow_local.harness import LocalPlatform
from flow_sdk import FlowSDK, FlowSDKError
from flow_sdk.platform_client import PlatformNotFoundError

from .conftest import created

SERVICE_CONTEXT = {"service_id": "svc-reports", "component_id": "", "version": 1}


@pytest.fixture
def component_id(admin: httpx.Client) -> str:
    """A catalog component with state defaults, whose id a hosted service binds as ``service.component_id``."""
    spec = {"source": "def main() -> int:\n    return 1\n", "state_defaults": {"counter": 0, "mode": "full"}}
    body = {"id": f"sync-{uuid.uuid4().hex[:8]}", "name": "sync job", "spec": spec}
    return str(created(admin.post("/components/code_block", json=body))["id"])


async def test_bind_request_context_example(flow: FlowSDK) -> None:
    seen: dict[str, object] = {}

    async def handle_request() -> None:
        seen["subject"] = flow.auth.subject_id
        seen["scopes"] = flow.auth.scopes

    token = flow.bind_request_context(
        auth={
            "subject_id": "user-123",
            "scopes": ["read", "write"],
            "token_type": "user",
        },
        execution={
            "execution_id": "exec-uuid",
            "request_id": "req-uuid",
        },
    )

    try:
        # flow.auth.subject_id is now "user-123" in this async context
        await handle_request()
    finally:
        flow.reset_request_context(token)

    assert seen == {"subject": "user-123", "scopes": ["read", "write"]}
    assert flow.auth.subject_id is None and flow.auth.scopes == []


async def test_request_contexts_are_isolated_between_tasks(flow: FlowSDK) -> None:
    async def handle(subject: str, delay: float) -> str | None:
        token = flow.bind_request_context(auth={"subject_id": subject})
        try:
            await asyncio.sleep(delay)
            return flow.auth.subject_id
        finally:
            flow.reset_request_context(token)

    assert await asyncio.gather(handle("a", 0.05), handle("b", 0.0)) == ["a", "b"]


async def test_auth_claims_and_service_auth(flow: FlowSDK) -> None:
    token = flow.bind_request_context(
        auth={
            "subject_id": "svc-caller",
            "scopes": ["admin"],
            "token_type": "service_token",
            "custom_claims": {"tenant_id": "t-123"},
            "token": "inbound.jwt.value",
        },
        headers={"Authorization": "Bearer inbound.jwt.value", "X-Trace": "1"},
        service=SERVICE_CONTEXT,
    )
    try:
        subject = flow.auth.subject_id
        assert subject == "svc-caller"
        assert "admin" in flow.auth.scopes
        assert flow.auth.custom_claims.get("tenant_id") == "t-123"
        assert flow.auth.claim("tenant_id") == "t-123"
        assert flow.service.auth.token(required=True) == "inbound.jwt.value"
        assert flow.service.auth.reuse(required=True) == {"Authorization": "Bearer inbound.jwt.value"}
    finally:
        flow.reset_request_context(token)
    with pytest.raises(FlowSDKError):
        flow.service.auth.token(required=True)


async def test_state_inside_a_bound_request(flow: FlowSDK, component_id: str) -> None:
    token = flow.bind_request_context(
        auth={"subject_id": "user-123", "scopes": ["read"], "token_type": "user"},
        service={**SERVICE_CONTEXT, "component_id": component_id},
    )
    try:
        await flow.state.set("last_sync_cursor", "2025-01-15T10:30:00Z")
        cursor = await flow.state.get("last_sync_cursor")
        assert cursor == "2025-01-15T10:30:00Z"
        await flow.state.set("nested", {"pages": [1, 2], "done": False})
        assert await flow.state.get("nested") == {"pages": [1, 2], "done": False}

        await flow.state.delete("last_sync_cursor")
        assert await flow.state.get("last_sync_cursor") is None

        snapshot = await flow.state.initialize()
        assert snapshot["values"] == {
            "counter": 0,
            "mode": "full",
            "nested": {"pages": [1, 2], "done": False},
        }
        await flow.state.set("counter", 5)
        again = await flow.state.initialize()
        assert again["values"]["counter"] == 5, "initialize must not overwrite values already set"
    finally:
        flow.reset_request_context(token)


async def test_state_is_scoped_to_the_component(flow: FlowSDK, component_id: str) -> None:
    for component, value in ((component_id, "mine"), ("other-component", "theirs")):
        token = flow.bind_request_context(service={"component_id": component})
        try:
            await flow.state.set("owner", value)
        finally:
            flow.reset_request_context(token)
    token = flow.bind_request_context(service={"component_id": component_id})
    try:
        assert await flow.state.get("owner") == "mine"
    finally:
        flow.reset_request_context(token)


@pytest.mark.parametrize("key", ["reports/2025/q4", "with space", "a?b#c", "100%", "ü-clé"])
async def test_state_keys_with_url_characters(flow: FlowSDK, component_id: str, key: str) -> None:
    token = flow.bind_request_context(service={"component_id": component_id})
    try:
        entry = await flow.state.set(key, {"key": key})
        assert entry["key"] == key
        assert await flow.state.get(key) == {"key": key}
        await flow.state.delete(key)
        assert await flow.state.get(key, "gone") == "gone"
    finally:
        flow.reset_request_context(token)


@pytest.mark.parametrize("key", ["", ".", ".."])
async def test_state_rejects_unaddressable_keys(flow: FlowSDK, component_id: str, key: str) -> None:
    token = flow.bind_request_context(service={"component_id": component_id})
    try:
        with pytest.raises(FlowSDKError, match="state key"):
            await flow.state.set(key, 1)
    finally:
        flow.reset_request_context(token)


async def test_state_fails_closed_outside_a_bound_request(flow: FlowSDK) -> None:
    with pytest.raises(FlowSDKError) as caught:
        await flow.state.get("last_sync_cursor")
    assert caught.value.code == "state_unbound"
    token = flow.bind_request_context(auth={"subject_id": "user-123"}, service={"service_id": "svc-reports"})
    try:
        with pytest.raises(FlowSDKError, match="component_id"):
            await flow.state.set("last_sync_cursor", "x")
    finally:
        flow.reset_request_context(token)


async def test_state_fails_closed_without_runtime_auth(
    runtime_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, component_id: str
) -> None:
    monkeypatch.delenv("AUTH_TOKEN")
    async with FlowSDK() as flow:
        token = flow.bind_request_context(service={"component_id": component_id})
        try:
            with pytest.raises(FlowSDKError, match="AUTH_TOKEN"):
                await flow.state.get("last_sync_cursor")
        finally:
            flow.reset_request_context(token)


async def test_secrets_set_by_management_api_read_at_runtime(flow: FlowSDK, admin: httpx.Client) -> None:
    created(admin.put("/secrets/OPENAI_API_KEY", json={"value": "sk-local-test-123"}))

    api_key = await flow.secrets.get("OPENAI_API_KEY")

    assert api_key == "sk-local-test-123"
    assert not hasattr(flow.secrets, "set"), "flow.secrets is read-only at runtime"
    with pytest.raises(PlatformNotFoundError):
        await flow.secrets.get("NOT_A_SECRET")


@pytest.mark.parametrize("name", ["with space", "ü", "x" * 201])
def test_management_api_rejects_secret_names_outside_the_spec(admin: httpx.Client, name: str) -> None:
    response = admin.put(f"/secrets/{quote(name, safe='')}", json={"value": "v"})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("name", ["", ".", "..", "with space", "a/b"])
async def test_secret_names_are_checked_before_sending(flow: FlowSDK, name: str) -> None:
    with pytest.raises(FlowSDKError, match="secret name"):
        await flow.secrets.get(name)


async def test_audit_log_and_flow_log(flow: FlowSDK, admin: httpx.Client) -> None:
    token = flow.bind_request_context(
        auth={"subject_id": "user-123", "scopes": ["read"], "token_type": "user"}
    )
    try:
        await flow.audit.log(
            action="document.reviewed",
            resource_type="document",
            resource_id="doc-uuid-here",
            details={"reviewer": flow.auth.subject_id, "decision": "approved"},
        )
    finally:
        flow.reset_request_context(token)
    await flow.log("document.archived", "document", "doc-uuid-here", {"reason": "old"})

    events = created(admin.get("/audit/events", params={"resource_id": "doc-uuid-here"}))
    by_action = {event["action"]: event for event in events}
    assert by_action["document.reviewed"]["details"] == {"reviewer": "user-123", "decision": "approved"}
    assert by_action["document.reviewed"]["resource_type"] == "document"
    assert by_action["document.archived"]["details"] == {"reason": "old"}
    listed = await flow.audit.list(action="document.archived")
    assert [event["resource_id"] for event in listed] == ["doc-uuid-here"]


async def test_conversations_list_and_get(flow: FlowSDK, admin: httpx.Client, lp: LocalPlatform) -> None:
    spec = {"model": "offline/chat", "system_prompt": "You answer briefly."}
    agent = created(admin.post("/components/agent", json={"name": "helper", "spec": spec}))
    result = await flow.agents.run(
        agent_id=agent["id"],
        input_data={"question": "What were last quarter's revenue trends?"},
        ring_id=lp.ring_id,
    )
    assert result["status"] == "completed", result
    assert result["output"]["answer"] == "You said: What were last quarter's revenue trends?"

    convos = await flow.conversations.list(limit=20, offset=0)
    summary = next(c for c in convos if c["id"] == result["conversation_id"])
    assert summary["message_count"] >= 2

    convo = await flow.conversations.get(result["conversation_id"])
    roles = [message["role"] for message in convo["messages"]]
    assert roles[-2:] == ["user", "assistant"]
    assert convo["messages"][-1]["content"] == "You said: What were last quarter's revenue trends?"
    with pytest.raises(PlatformNotFoundError):
        await flow.conversations.get("conversation-uuid")
