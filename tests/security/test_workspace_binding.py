"""Workspace binding in every area, org-level ones included.

The rule (``flow_local.auth``): a workspace-bound token (a workspace API key, an execution's or a hosted
service's token) reaches only its own workspace. In workspace paths that is the path's workspace; in
org-level areas it is what belongs to the workspace: storage keys under ``workspaces/<id>/``, jobs for
services of the workspace, connector write jobs on the workspace's instances.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flow_local.areas.tenants import TenantsBackend
from flow_local.harness import LocalPlatform
from flow_sdk import CLIClient, FlowConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    """One org, two workspaces, a bound token for each, and in workspace two: a hosted service, a
    connector instance with a write job, a job and a storage object."""
    with LocalPlatform() as lp:
        assert lp.platform is not None
        tenants = lp.platform.backend(TenantsBackend)
        org = tenants.create_org("binding")
        one, two = (tenants.add_workspace(org["id"], name) for name in ("one", "two"))
        tokens = lp.platform.tokens
        admin = tokens.mint_user_token("admin", org["id"])
        world: dict[str, Any] = {
            "lp": lp,
            "org": org["id"],
            "one": one["id"],
            "two": two["id"],
            "bound_one": tokens.mint_user_token("user-one", org["id"], one["id"]),
            "bound_two": tokens.mint_user_token("user-two", org["id"], two["id"]),
            "admin": admin,
        }
        config = FlowConfig(platform_url=lp.url, access_token=admin, org_id=org["id"], workspace_id=two["id"])
        deployed = CLIClient(config).hosted_services.deploy(
            "svc-two", "main:app", source_dir=str(EXAMPLES / "profile_service")
        )
        assert deployed["status"] == "running"
        with _client(lp, world["bound_two"]) as client:
            ws = f"/api/v1/orgs/{org['id']}/workspaces/{two['id']}"
            spec = {"connector_type": "sqlite", "config": {"database": "two.db"}}
            assert (
                client.post(
                    f"{ws}/resources/connector_instance", json={"id": "db-two", "name": "db", "spec": spec}
                ).status_code
                == 201
            )
            assert (
                client.post(
                    "/api/v1/connectors/instances/db-two/execute-ddl",
                    json={"scope_type": "workspace", "sql": "CREATE TABLE t (x)", "confirm": True},
                ).status_code
                == 200
            )
            write_job = client.post(
                "/api/v1/connectors/instances/db-two/write-jobs",
                json={"operation": "insert_rows", "params": {"table": "t", "rows": [{"x": 1}]}},
            )
            assert write_job.status_code in (200, 201, 202), write_job.text
            world["write_job"] = write_job.json()["job_id"]
            job = client.post(
                f"/api/v1/orgs/{org['id']}/jobs",
                json={"service_id": "svc-two", "endpoint_path": "/health", "method": "GET"},
            )
            assert job.status_code == 202, job.text
            world["job"] = job.json()["job_id"]
            stored = client.put(
                f"/api/v1/orgs/{org['id']}/storage/objects/workspaces/{two['id']}/secret.txt", content=b"two"
            )
            assert stored.status_code == 200, stored.text
        yield world


def _client(lp: LocalPlatform, token: str) -> httpx.Client:
    return httpx.Client(base_url=lp.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _attacks(w: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    """What workspace one's token tries against workspace two's things (method, path, json body)."""
    org, one, two = w["org"], w["one"], w["two"]
    own_path = f"/api/v1/orgs/{org}/workspaces/{one}/hosted-services/svc-two"
    storage = f"/api/v1/orgs/{org}/storage"
    return [
        ("GET", f"{own_path}/logs", None),
        ("DELETE", f"{own_path}/versions/1", None),
        ("GET", f"{own_path}/health", None),
        ("GET", f"{own_path}/versions", None),
        ("GET", f"/api/v1/orgs/{org}/services/svc-two/whoami", None),
        ("POST", f"/api/v1/orgs/{org}/services/svc-two/visits", {"page": "planted"}),
        ("GET", f"/api/v1/orgs/{org}/services/svc-two/v1/whoami", None),
        ("POST", f"/api/v1/orgs/{org}/services/svc-two/v1/visits", {"page": "planted"}),
        ("GET", f"/api/v1/orgs/{org}/service-skills/svc-two", None),
        ("GET", f"/api/v1/orgs/{org}/service-skills/svc-two?version=1", None),
        ("GET", f"{storage}/objects/workspaces/{two}/secret.txt", None),
        ("PUT", f"{storage}/objects/workspaces/{two}/planted.txt", None),
        ("DELETE", f"{storage}/objects/workspaces/{two}/secret.txt", None),
        ("GET", f"{storage}/objects?prefix=workspaces/{two}/", None),
        ("POST", f"{storage}/presign", {"key": f"workspaces/{two}/secret.txt", "method": "GET"}),
        ("PUT", f"{storage}/objects/shared.txt", None),
        (
            "POST",
            f"/api/v1/orgs/{org}/jobs",
            {"service_id": "svc-two", "endpoint_path": "/health", "method": "GET"},
        ),
        ("GET", f"/api/v1/orgs/{org}/jobs/{w['job']}", None),
        ("POST", f"/api/v1/orgs/{org}/jobs/{w['job']}/cancel", None),
        ("GET", f"/api/v1/connectors/write-jobs/{w['write_job']}", None),
        (
            "POST",
            "/api/v1/connectors/instances/db-two/write-jobs",
            {"operation": "insert_rows", "params": {"table": "t", "rows": [{"x": 2}]}},
        ),
        (
            "POST",
            "/api/v1/connectors/instances/db-two/execute",
            {"operation": "read_query", "params": {"query": "SELECT * FROM t"}},
        ),
    ]


def test_a_workspace_bound_token_is_denied_everything_of_another_workspace(world: dict[str, Any]) -> None:
    refused = []
    with _client(world["lp"], world["bound_one"]) as client:
        for method, path, body in _attacks(world):
            kwargs: dict[str, Any] = (
                {"json": body} if body is not None else {"content": b"x"} if method == "PUT" else {}
            )
            response = client.request(method, path, **kwargs)
            assert response.status_code in (403, 404), (method, path, response.status_code, response.text)
            refused.append(path)
    assert len(refused) == len(_attacks(world))


def test_the_owner_and_an_org_wide_token_still_reach_them(world: dict[str, Any]) -> None:
    org, two = world["org"], world["two"]
    for token in (world["bound_two"], world["admin"]):
        with _client(world["lp"], token) as client:
            assert (
                client.get(f"/api/v1/orgs/{org}/workspaces/{two}/hosted-services/svc-two/logs").status_code
                == 200
            )
            assert (
                client.get(f"/api/v1/orgs/{org}/storage/objects/workspaces/{two}/secret.txt").content
                == b"two"
            )
            assert client.get(f"/api/v1/orgs/{org}/jobs/{world['job']}").status_code == 200
            assert client.get(f"/api/v1/orgs/{org}/services/svc-two/whoami").status_code == 200
            assert client.get(f"/api/v1/orgs/{org}/service-skills/svc-two").status_code == 200
            assert client.get(f"/api/v1/connectors/write-jobs/{world['write_job']}").status_code == 200


def test_a_bound_listing_without_prefix_shows_only_its_workspace(world: dict[str, Any]) -> None:
    org, one, two = world["org"], world["one"], world["two"]
    with _client(world["lp"], world["bound_one"]) as client:
        assert (
            client.put(
                f"/api/v1/orgs/{org}/storage/objects/workspaces/{one}/mine.txt", content=b"1"
            ).status_code
            == 200
        )
        keys = [o["key"] for o in client.get(f"/api/v1/orgs/{org}/storage/objects").json()]
    assert keys == [f"workspaces/{one}/mine.txt"]
    with _client(world["lp"], world["admin"]) as client:
        keys = [o["key"] for o in client.get(f"/api/v1/orgs/{org}/storage/objects").json()]
    assert f"workspaces/{two}/secret.txt" in keys and f"workspaces/{one}/mine.txt" in keys
