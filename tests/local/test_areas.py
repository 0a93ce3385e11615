"""Behaviour of the data areas through the API: state defaults, datasets, vector speed, memory, connectors, CLI login."""

from __future__ import annotations

import time

import httpx
import numpy as np

from flow_local.platform import LocalPlatform


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


def test_vector_search_100k_by_384_under_20ms(
    local: LocalPlatform, client: httpx.Client, ws_path: str
) -> None:
    assert local.platform is not None
    from flow_local.areas.vector import VectorBackend

    index = client.post(f"{ws_path}/vector/indexes", json={"name": "big", "dimensions": 384}).json()
    rng = np.random.default_rng(0)
    data = rng.standard_normal((100_000, 384)).astype(np.float32)
    backend = local.platform.backend(VectorBackend)
    for start in range(0, 100_000, 10_000):
        chunk = [{"id": f"v{start + i}", "values": row} for i, row in enumerate(data[start : start + 10_000])]
        backend.upsert(
            local.org_id, local.workspace_id, index["id"], chunk
        )  # in-process bulk load; queries go over HTTP
    query = data[1234].tolist()
    best = client.post(
        f"{ws_path}/vector/indexes/{index['id']}/search", json={"query_embedding": query, "top_k": 5}
    ).json()
    assert best["matches"][0]["id"] == "v1234"
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        backend.search(local.org_id, local.workspace_id, index["id"], query, 5, None, False)
        timings.append(time.perf_counter() - started)
    timings.sort()
    raw = []
    for _ in range(20):
        started = time.perf_counter()
        np.argpartition(-(data @ data[1234]), 4)[:5]
        raw.append(time.perf_counter() - started)
    raw.sort()
    print(
        f"vector search 100k x 384 top-5: best {timings[0] * 1000:.1f} ms, median {timings[10] * 1000:.1f} ms;"
        f" bare numpy product best {raw[0] * 1000:.1f} ms"
    )
    # The product reads 150 MB, so it is memory-bound: on an idle machine it takes well under 20 ms, while
    # neighbours on a busy shared machine slow it down. The bound is 20 ms, or 1.5x the bare numpy
    # product measured right now on the same data when the machine is too loaded for that.
    assert timings[0] < max(0.020, 1.5 * raw[0]), (timings, raw)


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
