"""The sqlite connector stays inside its own database file: no ATTACH, DETACH, VACUUM INTO or extensions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flow_local.harness import LocalPlatform


@pytest.fixture(scope="module")
def local() -> Iterator[LocalPlatform]:
    with LocalPlatform() as platform:
        yield platform


@pytest.fixture()
def connector(local: LocalPlatform) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {local.admin_token}"}
    with httpx.Client(base_url=local.url, headers=headers, timeout=30) as client:
        client.post(
            f"/api/v1/orgs/{local.org_id}/workspaces/{local.workspace_id}/resources/connector_instance",
            json={
                "id": "db-x",
                "name": "db",
                "spec": {"connector_type": "sqlite", "config": {"database": "x.db"}},
            },
        )
        yield client


def _ddl(client: httpx.Client, sql: str) -> httpx.Response:
    body = {"scope_type": "workspace", "sql": sql, "confirm": True, "reason": "test"}
    return client.post("/api/v1/connectors/instances/db-x/execute-ddl", json=body)


def _statement(client: httpx.Client, operation: str, params: dict[str, object]) -> httpx.Response:
    return client.post(
        "/api/v1/connectors/instances/db-x/execute", json={"operation": operation, "params": params}
    )


@pytest.mark.parametrize(
    "sql",
    [
        "ATTACH DATABASE '{db}' AS stolen",
        "VACUUM INTO '{copy}'",
        "DETACH DATABASE main",
        "SELECT load_extension('/tmp/evil')",
    ],
)
def test_ddl_reaching_past_the_database_is_refused_by_name(
    local: LocalPlatform, connector: httpx.Client, tmp_path: Path, sql: str
) -> None:
    assert local.platform is not None
    statement = sql.format(db=local.platform.settings.db_path, copy=tmp_path / "copy.db")
    response = _ddl(connector, statement)
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert "is not allowed" in detail and statement.split()[0] in detail
    assert not (tmp_path / "copy.db").exists()


def test_attach_through_execute_statement_and_read_query_is_refused(
    local: LocalPlatform, connector: httpx.Client
) -> None:
    assert local.platform is not None
    attach = f"ATTACH DATABASE '{local.platform.settings.db_path}' AS stolen"
    for operation, key in (("execute_statement", "statement"), ("read_query", "query")):
        response = _statement(connector, operation, {key: attach})
        assert response.status_code == 400, response.text
        assert "ATTACH" in response.json()["detail"] and "not allowed" in response.json()["detail"]
    secrets = _statement(connector, "read_query", {"query": "SELECT * FROM stolen.api_keys"})
    assert secrets.status_code == 400 and "no such table" in secrets.json()["detail"]


def test_ordinary_ddl_and_queries_still_work(connector: httpx.Client) -> None:
    assert (
        _ddl(connector, "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT)").status_code
        == 200
    )
    inserted = _statement(connector, "insert_rows", {"table": "notes", "rows": [{"body": "hello"}]})
    assert inserted.status_code == 200, inserted.text
    rows = _statement(connector, "read_query", {"query": "SELECT body FROM notes"}).json()["rows"]
    assert {"body": "hello"} in rows
