"""Behaviour of the data areas through the API: state defaults, datasets, memory, connectors, CLI login.

Vector search (exactness and speed) is in ``test_vector.py``.
"""

from __future__ import annotations

import httpx

from flow_local.harness import LocalPlatform


def test_state_initialize_from_component_defaults(client: httpx.Client, ws_path: str) -> None:
    client.post(
        f"{ws_path}/components/code_block",
        json={"id": "stateful", "name": "s", "spec": {"source": "", "state_defaults": {"n": 0, "m": "x"}}},
    )
    client.put(f"{ws_path}/state/stateful/keys/n", json={"value": 7})
    snap = client.post(f"{ws_path}/state/stateful/initialize").json()
    assert snap == {"component_id": "stateful", "values": {"m": "x", "n": 7}}


def test_dataset_queries(client: httpx.Client, ws_path: str) -> None:
    client.post(f"{ws_path}/datasets", json={"id": "people"})
    rows = [
        {"name": n, "age": a, "plan": p, "vec": v}
        for n, a, p, v in [
            ("ann", 31, "enterprise", [1, 0]),
            ("bob", 25, "free", [0, 1]),
            ("cy", 40, "enterprise", [0.9, 0.1]),
        ]
    ]
    assert client.post(f"{ws_path}/datasets/people/rows", json={"rows": rows}).json() == {
        "inserted": 3,
        "row_count": 3,
    }
    q = {
        "fields": ["name"],
        "filters": [
            {"field": "plan", "op": "eq", "value": "enterprise"},
            {"field": "age", "op": "gte", "value": 30},
        ],
        "order_by": "age",
        "descending": True,
        "limit": 1,
    }
    assert client.post(f"{ws_path}/datasets/people/query", json=q).json() == {
        "rows": [{"name": "cy"}],
        "total": 2,
    }
    assert (
        client.post(
            f"{ws_path}/datasets/people/query",
            json={"filters": [{"field": "name", "op": "in", "value": ["bob"]}]},
        ).json()["total"]
        == 1
    )
    near = client.post(
        f"{ws_path}/datasets/people/vector-query",
        json={"embedding": [1, 0], "vector_field": "vec", "top_k": 2, "fields": ["name"]},
    ).json()
    assert [r["row"]["name"] for r in near["results"]] == ["ann", "cy"]


def test_memory_store_recall_forget(client: httpx.Client, ws_path: str) -> None:
    a = client.post(
        f"{ws_path}/memory/store",
        json={"content": "The customer prefers email communication.", "namespace": "prefs"},
    ).json()
    client.post(
        f"{ws_path}/memory/store", json={"content": "Invoices are due in thirty days.", "namespace": "prefs"}
    )
    found = client.post(
        f"{ws_path}/memory/recall",
        json={"query": "How does the customer prefer communication?", "namespace": "prefs", "top_k": 1},
    ).json()
    assert found["memories"][0]["id"] == a["id"]
    assert client.post(
        f"{ws_path}/memory/forget", json={"vector_ids": [a["id"]], "namespace": "prefs"}
    ).json() == {"forgotten": 1}
    assert {"namespace": "prefs", "count": 1} in client.get(f"{ws_path}/memory/namespaces").json()


def test_sqlite_connector(client: httpx.Client, ws_path: str) -> None:
    client.post(
        f"{ws_path}/resources/connector_instance",
        json={
            "id": "db1",
            "name": "db",
            "spec": {"connector_type": "sqlite", "config": {"database": "db1.db"}},
        },
    )
    base = "/api/v1/connectors/instances/db1"
    ddl = {"scope_type": "workspace", "sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)"}
    preview = client.post(f"{base}/execute-ddl", json=ddl).json()
    assert preview["status"] == "preview" and preview["affected_objects"] == ["users"]
    read = client.post(
        f"{base}/execute",
        json={"operation": "read_query", "params": {"query": "SELECT name FROM sqlite_master"}},
    ).json()
    assert read["rows"] == []  # the preview executed nothing
    assert client.post(f"{base}/execute-ddl", json={**ddl, "confirm": True}).json()["executed"] is True
    client.post(
        f"{base}/execute",
        json={"operation": "insert_rows", "params": {"table": "users", "rows": [{"name": "ann"}]}},
    )
    job = client.post(
        f"{base}/write-jobs",
        json={"operation": "insert_rows", "params": {"table": "users", "rows": [{"name": "bob"}]}},
    ).json()
    done = client.get(f"/api/v1/connectors/write-jobs/{job['job_id']}", params={"wait_seconds": 5}).json()
    assert done["status"] == "completed" and done["rows_affected"] == 1
    rows = client.post(
        f"{base}/execute",
        json={"operation": "read_query", "params": {"query": "SELECT name FROM users ORDER BY id"}},
    ).json()["rows"]
    assert rows == [{"name": "ann"}, {"name": "bob"}]
    denied = client.post(
        f"{base}/execute", json={"operation": "read_query", "params": {"query": "DELETE FROM users"}}
    )
    assert denied.status_code == 400


def test_cli_login_flow(local: LocalPlatform, client: httpx.Client) -> None:
    created = httpx.post(f"{local.url}/api/v1/auth/cli-login-requests").json()
    assert (
        httpx.get(f"{local.url}/api/v1/auth/cli-login-requests/{created['request_id']}").json()["status"]
        == "pending"
    )
    assert (
        client.post(
            "/api/v1/auth/cli-login-requests/approve", json={"user_code": created["user_code"]}
        ).status_code
        == 200
    )
    first = httpx.get(f"{local.url}/api/v1/auth/cli-login-requests/{created['request_id']}").json()
    second = httpx.get(f"{local.url}/api/v1/auth/cli-login-requests/{created['request_id']}").json()
    assert (
        first["status"] == "approved"
        and first["access_token"]
        and second["status"] == "consumed"
        and "access_token" not in second
    )
    me = httpx.get(
        f"{local.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {first['access_token']}"}
    ).json()
    assert me["org_id"] == local.org_id
