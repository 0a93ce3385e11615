"""Every public SDK method that makes an HTTP call sends a request the spec accepts (Prism --errors).

Service paths and storage keys here are single-segment: Prism cannot match a path parameter that spans
several segments (the spec's ``x-flow-allow-slashes``). Prism answers an invalid request with 422 (mapped to a PlatformClientError/GatewayClientError, failing the
test) and reports softer violations in the ``sl-violations`` header, which a response hook turns into a
failure as well.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from flow_sdk import ExecutionTimeoutError, FlowSDK, FlowSDKError, GatewayClient, PlatformClient
from flow_sdk._polling import PollSettings

VIOLATIONS: list[str] = []


async def _record_violations(response: httpx.Response) -> None:
    header = response.headers.get("sl-violations")
    if header:
        VIOLATIONS.append(f"{response.request.method} {response.request.url.path}: {header}")


def _hook(client: httpx.AsyncClient) -> httpx.AsyncClient:
    if _record_violations not in client.event_hooks["response"]:
        client.event_hooks["response"].append(_record_violations)
    return client


@pytest.fixture
def flow(prism_url: str) -> FlowSDK:
    sdk = FlowSDK(
        org_id="org1",
        workspace_id="ws1",
        auth_token="tok",
        platform_url=prism_url,
        ring_id="ring1",
        service_id="svc1",
    )
    _hook(sdk._http())
    return sdk


FlowCall = Callable[[FlowSDK], Awaitable[Any]]


async def _every_page(call: Awaitable[Any]) -> None:
    """Run a call that reads every page. Prism answers its example ``X-Next-Cursor`` on every page, so
    the SDK sends the first page, then the page at that cursor (both checked), and stops with its error
    at the repeated cursor instead of looping."""
    with pytest.raises(FlowSDKError, match="answered its own cursor"):
        await call


async def _collect(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


FLOW_CALLS: dict[str, FlowCall] = {
    "gateway.chat_completion": lambda f: f.gateway.chat_completion(
        model="openai/gpt-4o", messages=[{"role": "user", "content": "hi"}], temperature=0.7, max_tokens=256
    ),
    "gateway.embedding": lambda f: f.gateway.embedding(model="openai/text-embedding-3-small", input="x"),
    "gateway.list_models": lambda f: f.gateway.list_models(),
    "datasets.query": lambda f: f.datasets.query(
        dataset_id="customer-records",
        request={
            "fields": ["name"],
            "filters": [{"field": "plan", "op": "eq", "value": "enterprise"}],
            "limit": 50,
        },
    ),
    "datasets.vector_query": lambda f: f.datasets.vector_query(
        dataset_id="kb", embedding=[0.1, 0.2], vector_field="content_embedding", top_k=5, fields=["title"]
    ),
    "datasets.insert_rows": lambda f: f.datasets.insert_rows("kb", [{"a": 1}]),
    "datasets.list": lambda f: _every_page(f.datasets.list()),
    "datasets.get": lambda f: f.datasets.get("kb"),
    "code_blocks.submit": lambda f: f.code_blocks.submit(code_block_id="cb1", input_parameters={"u": 1}),
    "agents.submit": lambda f: f.agents.submit(agent_id="a1", input_data={"q": "x"}),
    "workflows.submit": lambda f: f.workflows.submit(workflow_id="w1", input_data={}),
    "code_blocks.get_status": lambda f: f.code_blocks.get_status("ex1"),
    "code_blocks.cancel": lambda f: f.code_blocks.cancel("ex1"),
    "code_blocks.iter_executions": lambda f: _every_page(
        _collect(f.code_blocks.iter_executions("failed", component_id="cb1", page_size=5))
    ),
    "services.post": lambda f: f.services.post("/summarize", body={"text": "t"}, service_id="svc2"),
    "services.call_version": lambda f: f.services.call("GET", "/health", service_id="svc2", version=2),
    "services.put": lambda f: f.services.put("/items", body={"a": 1}, service_id="svc2"),
    "services.delete": lambda f: f.services.delete("/items", service_id="svc2", auth="caller_service_token"),
    "services.skills": lambda f: f.services.skills("svc2", version=2),
    "connectors.execute_operation": lambda f: f.connectors.execute_operation(
        connector_instance_id="inst1", operation="read_query", params={"query": "SELECT 1"}
    ),
    "connectors.execute_ddl": lambda f: f.connectors.execute_ddl(
        connector_instance_id="inst1", sql="ALTER TABLE users ADD COLUMN a BOOLEAN", confirm=False
    ),
    "state.set": lambda f: f.state.set("cursor", "2025-01-15"),
    "state.get": lambda f: f.state.get("cursor"),
    "state.delete": lambda f: f.state.delete("cursor"),
    "state.initialize": lambda f: f.state.initialize(),
    "secrets.get": lambda f: f.secrets.get("OPENAI_API_KEY"),
    "secrets.list": lambda f: _every_page(f.secrets.list()),
    "storage.upload": lambda f: f.storage.upload(key="report.bin", data=b"abc"),
    "storage.download": lambda f: f.storage.download("report.bin"),
    "storage.list": lambda f: _every_page(f.storage.list(prefix="reports/")),
    "storage.delete": lambda f: f.storage.delete("report.bin"),
    "storage.presign_put": lambda f: f.storage.presign_put("uploads/image.png", ttl_seconds=600),
    "storage.presign_get": lambda f: f.storage.presign_get("uploads/image.png"),
    "vector.create_index": lambda f: f.vector.create_index(name="emb", dimensions=3, metric="cosine"),
    "vector.upsert": lambda f: f.vector.upsert(
        index_id="idx1", vectors=[{"id": "d1", "values": [0.1], "metadata": {}}]
    ),
    "vector.search": lambda f: f.vector.search(index_id="idx1", query_embedding=[0.1], top_k=5),
    "vector.delete": lambda f: f.vector.delete("idx1", ["d1"]),
    "vector.get_index": lambda f: f.vector.get_index("idx1"),
    "vector.list_indexes": lambda f: _every_page(f.vector.list_indexes()),
    "vector.delete_index": lambda f: f.vector.delete_index("idx1"),
    "memory.store": lambda f: f.memory.store(content="prefers email", metadata={"c": 1}, namespace="prefs"),
    "memory.recall": lambda f: f.memory.recall(query="contact?", top_k=3, namespace="prefs"),
    "memory.forget": lambda f: f.memory.forget(vector_ids=["m1"], namespace="prefs"),
    "memory.list_namespaces": lambda f: _every_page(f.memory.list_namespaces()),
    "audit.log": lambda f: f.audit.log(
        action="document.reviewed",
        resource_type="document",
        resource_id="d1",
        details={"decision": "approved"},
    ),
    "audit.list": lambda f: f.audit.list(limit=10),
    "log": lambda f: f.log("document.reviewed", "document", "d1"),
    "jobs.submit": lambda f: f.jobs.submit(endpoint_path="/heavy-compute", body={"d": 1}, lane="standard"),
    "jobs.get_status": lambda f: f.jobs.get_status("job1"),
    "jobs.cancel": lambda f: f.jobs.cancel("job1"),
    "service_tokens.mint": lambda f: f.service_tokens.mint(
        {"tenant_id": "t-123"}, ttl_minutes=60, service_id="s2"
    ),
    "conversations.list": lambda f: f.conversations.list(limit=20, offset=0),
    "conversations.get": lambda f: f.conversations.get("conv1"),
}


@pytest.mark.parametrize("name", sorted(FLOW_CALLS))
async def test_flow_sdk_call_conforms(name: str, flow: FlowSDK) -> None:
    VIOLATIONS.clear()
    token = flow.bind_request_context(
        auth={"subject_id": "u", "token": "inbound"}, service={"service_id": "svc1", "component_id": "comp1"}
    )
    try:
        await FLOW_CALLS[name](flow)
    finally:
        flow.reset_request_context(token)
        await flow.close()
    assert VIOLATIONS == []


async def test_stream_chat_completion_conforms(flow: FlowSDK) -> None:
    VIOLATIONS.clear()
    stream = await flow.gateway.stream_chat_completion(
        model="openai/gpt-4o", messages=[{"role": "user", "content": "x"}]
    )
    await stream.aclose()
    await flow.close()
    assert VIOLATIONS == []


async def test_execution_result_wait_conforms(flow: FlowSDK) -> None:
    VIOLATIONS.clear()
    platform = flow._platform()
    result = await platform.get_execution_result("ex1", wait_seconds=0.5)
    assert "status" in result
    settings = PollSettings(timeout_seconds=1, poll_interval_seconds=0.1)
    try:
        envelope = await platform._await_terminal("ex1", settings)
        assert envelope["status"] in ("completed", "failed", "timeout", "cancelled")
    except ExecutionTimeoutError as exc:  # the mock's status is not a terminal one: tolerated, then timed out
        assert exc.last_status is not None and "status" in exc.last_status
    await flow.close()
    assert VIOLATIONS == []


PLATFORM_CALLS: dict[str, Callable[[PlatformClient], Awaitable[Any]]] = {
    "_request": lambda c: c._request("GET", "/api/v1/tenants/orgs"),
    "submit_code_block_execution": lambda c: c.submit_code_block_execution("cb1", {"d": 1}, ring_id="r"),
    "submit_workflow_execution": lambda c: c.submit_workflow_execution("w1", {}, ring_id="r"),
    "submit_agent_execution": lambda c: c.submit_agent_execution("a1", {}, ring_id="r"),
    "get_execution_status": lambda c: c.get_execution_status("ex1"),
    "cancel_execution": lambda c: c.cancel_execution("ex1"),
    "execute_transform": lambda c: c.execute_transform("t1", {"x": 1}, {}),
    "get_service_skills": lambda c: c.get_service_skills("svc1", version=2),
}


@pytest.mark.parametrize("name", sorted(PLATFORM_CALLS))
async def test_platform_client_call_conforms(name: str, prism_url: str) -> None:
    VIOLATIONS.clear()
    async with PlatformClient(
        base_url=prism_url, auth_token="tok", org_id="org1", workspace_id="ws1"
    ) as client:
        _hook(client.client)
        await PLATFORM_CALLS[name](client)
    assert VIOLATIONS == []


async def test_gateway_client_calls_conform(prism_url: str) -> None:
    VIOLATIONS.clear()
    async with GatewayClient(base_url=prism_url, auth_token="tok") as client:
        _hook(client.client)
        await client.chat_completion("openai/gpt-4o", [{"role": "user", "content": "x"}])
        await client.embeddings("openai/e", ["a", "b"])
        await client.list_models("organization")
    assert VIOLATIONS == []
