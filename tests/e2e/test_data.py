"""The seed's dataset and connector examples: structured and vector queries, operations, DDL, large writes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from flow_local.harness import LocalPlatform
from flow_sdk import FlowSDK
from flow_sdk.platform_client import PlatformClientError, PlatformExecutionError, PlatformNotFoundError

from .conftest import created

CUSTOMERS = [
    {"name": "Ada", "email": "ada@example.com", "plan": "enterprise", "seats": 120},
    {"name": "Linus", "email": "linus@example.com", "plan": "free", "seats": 1},
    {"name": "Grace", "email": "grace@example.com", "plan": "enterprise", "seats": 40},
    {"name": "Alan", "email": "alan@example.com", "plan": "team", "seats": 8},
]
ARTICLES = [
    ("Resetting a password", "To reset your password open settings and choose reset password."),
    ("Billing cycles", "Invoices are sent on the first day of every month by email."),
    ("Exporting data", "Export any dataset to CSV from the dataset page."),
]


@pytest.fixture(scope="module")
def connector_instance_id(lp: LocalPlatform) -> Iterator[str]:
    """A sqlite connector instance with a ``users`` table of 12 rows, created through the management API."""
    base = f"{lp.url}/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {lp.admin_token}"}, timeout=30
    ) as admin:
        spec = {"connector_type": "sqlite", "config": {"database": "crm.db"}}
        instance = created(admin.post("/resources/connector_instance", json={"name": "crm", "spec": spec}))
    yield str(instance["id"])


async def _seed_users(flow: FlowSDK, instance_id: str) -> None:
    await flow.connectors.execute_ddl(
        connector_instance_id=instance_id,
        sql="CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT)",
        confirm=True,
    )
    rows = [{"name": f"user-{i}", "email": f"user{i}@example.com"} for i in range(12)]
    await flow.connectors.execute_operation(instance_id, "insert_rows", {"table": "users", "rows": rows})


async def _count_users(flow: FlowSDK, instance_id: str) -> int:
    result = await flow.connectors.execute_operation(
        connector_instance_id=instance_id,
        operation="read_query",
        params={"query": "SELECT COUNT(*) AS n FROM users"},
    )
    return int(result["rows"][0]["n"])


async def _columns(flow: FlowSDK, instance_id: str) -> list[str]:
    result = await flow.connectors.execute_operation(
        connector_instance_id=instance_id,
        operation="read_query",
        params={"query": "SELECT name FROM pragma_table_info('users')"},
    )
    return [row["name"] for row in result["rows"]]


async def test_datasets_structured_query(flow: FlowSDK, admin: httpx.Client) -> None:
    created(admin.post("/datasets", json={"id": "customer-records", "name": "Customers"}))
    await flow.datasets.insert_rows("customer-records", CUSTOMERS)

    rows = await flow.datasets.query(
        dataset_id="customer-records",
        request={
            "fields": ["name", "email", "plan"],
            "filters": [{"field": "plan", "op": "eq", "value": "enterprise"}],
            "limit": 50,
        },
    )
    assert rows["total"] == 2
    assert rows["rows"] == [
        {"name": "Ada", "email": "ada@example.com", "plan": "enterprise"},
        {"name": "Grace", "email": "grace@example.com", "plan": "enterprise"},
    ]

    ordered = await flow.datasets.query(
        dataset_id="customer-records",
        request={
            "fields": ["name"],
            "filters": [{"field": "seats", "op": "gte", "value": 8}],
            "order_by": "seats",
            "limit": 2,
        },
    )
    assert ordered == {"rows": [{"name": "Alan"}, {"name": "Grace"}], "total": 3}


async def test_datasets_vector_query(flow: FlowSDK, admin: httpx.Client) -> None:
    created(admin.post("/datasets", json={"id": "knowledge-base", "name": "Knowledge base"}))
    texts = [content for _title, content in ARTICLES]
    embedded = await flow.gateway.embedding(model="offline/embed", input=texts)
    rows: list[dict[str, Any]] = [
        {"title": title, "content": content, "content_embedding": item["embedding"]}
        for (title, content), item in zip(ARTICLES, embedded["data"], strict=True)
    ]
    await flow.datasets.insert_rows("knowledge-base", rows)
    query = await flow.gateway.embedding(model="offline/embed", input="how do I reset my password")
    query_vector = query["data"][0]["embedding"]

    results = await flow.datasets.vector_query(
        dataset_id="knowledge-base",
        embedding=query_vector,  # list[float] from an embedding model
        vector_field="content_embedding",
        top_k=5,
        distance_metric="cosine",
        fields=["title", "content"],
    )
    matches = results["results"]
    assert len(matches) == 3
    assert matches[0]["row"] == {"title": "Resetting a password", "content": ARTICLES[0][1]}
    assert matches[0]["score"] > matches[1]["score"] >= matches[2]["score"]


async def test_dataset_missing_is_not_found(flow: FlowSDK) -> None:
    with pytest.raises(PlatformNotFoundError):
        await flow.datasets.query(dataset_id="no-such-dataset", request={"limit": 1})


async def test_connector_read_query(flow: FlowSDK, connector_instance_id: str) -> None:
    await _seed_users(flow, connector_instance_id)
    result = await flow.connectors.execute_operation(
        connector_instance_id=connector_instance_id,
        operation="read_query",
        params={"query": "SELECT * FROM users LIMIT 10"},
    )
    assert result["operation"] == "read_query"
    assert result["columns"] == ["id", "name", "email"]
    assert len(result["rows"]) == 10
    assert result["rows"][0]["name"] == "user-0"


async def test_connector_read_query_refuses_writes(flow: FlowSDK, connector_instance_id: str) -> None:
    with pytest.raises(PlatformClientError) as caught:
        await flow.connectors.execute_operation(
            connector_instance_id=connector_instance_id,
            operation="read_query",
            params={"query": "DELETE FROM users"},
        )
    assert caught.value.status_code == 400


async def test_connector_ddl_preview_then_confirm(flow: FlowSDK, connector_instance_id: str) -> None:
    await _seed_users(flow, connector_instance_id)
    preview = await flow.connectors.execute_ddl(
        connector_instance_id=connector_instance_id,
        sql="ALTER TABLE users ADD COLUMN active BOOLEAN DEFAULT true",
        confirm=False,  # preview only -- set True to execute
    )
    assert preview["status"] == "preview" and preview["executed"] is False
    assert preview["affected_objects"] == ["users"]
    assert "active" not in await _columns(flow, connector_instance_id)

    applied = await flow.connectors.execute_ddl(
        connector_instance_id=connector_instance_id,
        sql="ALTER TABLE users ADD COLUMN active BOOLEAN DEFAULT true",
        confirm=True,
    )
    assert applied["status"] == "executed" and applied["executed"] is True
    assert "active" in await _columns(flow, connector_instance_id)


async def test_large_insert_goes_through_a_write_job(
    flow: FlowSDK, connector_instance_id: str, admin: httpx.Client, lp: LocalPlatform
) -> None:
    await _seed_users(flow, connector_instance_id)
    before = await _count_users(flow, connector_instance_id)
    rows = [{"name": f"bulk-{i}", "email": f"bulk{i}@example.com"} for i in range(150)]

    result = await flow.connectors.execute_operation(
        connector_instance_id=connector_instance_id,
        operation="insert_rows",
        params={"table": "users", "rows": rows},
    )
    assert result["rows_affected"] == 150
    assert result["job_id"], "a write over 100 rows must run as a write job"
    assert await _count_users(flow, connector_instance_id) == before + 150
    job = created(
        httpx.get(
            f"{lp.url}/api/v1/connectors/write-jobs/{result['job_id']}",
            headers=admin.headers,
            timeout=30,
        )
    )
    assert job["status"] == "completed" and job["rows_affected"] == 150


async def test_small_insert_runs_inline(flow: FlowSDK, connector_instance_id: str) -> None:
    await _seed_users(flow, connector_instance_id)
    result = await flow.connectors.insert_rows(connector_instance_id, "users", [{"name": "solo"}])
    assert result["rows_affected"] == 1
    assert not result.get("job_id")


async def test_failed_write_job_raises(flow: FlowSDK, connector_instance_id: str) -> None:
    rows = [{"name": f"x-{i}"} for i in range(101)]
    with pytest.raises(PlatformExecutionError) as caught:
        await flow.connectors.execute_operation(
            connector_instance_id, "insert_rows", {"table": "no_such_table", "rows": rows}
        )
    assert "no_such_table" in str(caught.value)


async def test_unknown_connector_instance_is_not_found(flow: FlowSDK) -> None:
    with pytest.raises(PlatformNotFoundError):
        await flow.connectors.execute_operation(
            connector_instance_id="instance-uuid", operation="read_query", params={"query": "SELECT 1"}
        )
