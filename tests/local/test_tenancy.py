"""Tenancy: two orgs by two workspaces; every token is denied the other tenants' data, for every kind of data."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from flow_local.areas.catalog import COMPONENT_TYPES
from flow_local.areas.resources import RESOURCE_KINDS
from flow_local.areas.tenants import TenantsBackend
from flow_local.harness import LocalPlatform


def _tenants(local: LocalPlatform) -> list[dict[str, str]]:
    """Four tenants: (org A, ws 1), (org A, ws 2), (org B, ws 1), (org B, ws 2), each with a workspace-bound token."""
    assert local.platform is not None
    backend = local.platform.backend(TenantsBackend)
    result = []
    for org_name in ("org-a", "org-b"):
        org = backend.create_org(org_name)
        for ws_name in ("one", "two"):
            ws = backend.add_workspace(org["id"], ws_name)
            token = local.platform.tokens.mint_user_token(f"user-{org_name}-{ws_name}", org["id"], ws["id"])
            result.append({"org_id": org["id"], "workspace_id": ws["id"], "token": token})
    return result


def _writes(t: dict[str, str]) -> list[tuple[str, str, dict[str, Any] | bytes, str]]:
    """(method, path, body, path to read back) for one item of every kind of data this platform owns."""
    ws = f"/api/v1/orgs/{t['org_id']}/workspaces/{t['workspace_id']}"
    org = f"/api/v1/orgs/{t['org_id']}"
    items: list[tuple[str, str, dict[str, Any] | bytes, str]] = []
    for ctype in COMPONENT_TYPES:
        items.append(
            (
                "POST",
                f"{ws}/components/{ctype}",
                {"id": f"c-{ctype}", "name": ctype},
                f"{ws}/components/{ctype}/c-{ctype}",
            )
        )
    for kind in RESOURCE_KINDS:
        items.append(
            (
                "POST",
                f"{ws}/resources/{kind}",
                {"id": f"r-{kind}", "name": kind},
                f"{ws}/resources/{kind}/r-{kind}",
            )
        )
    items += [
        ("PUT", f"{ws}/state/comp/keys/k", {"value": 1}, f"{ws}/state/comp/keys/k"),
        ("PUT", f"{ws}/secrets/S", {"value": "v"}, f"{ws}/secrets/S"),
        ("POST", f"{ws}/datasets", {"id": "ds"}, f"{ws}/datasets/ds"),
        (
            "PUT",
            f"{org}/storage/objects/workspaces/{t['workspace_id']}/a.txt",
            b"data",
            f"{org}/storage/objects/workspaces/{t['workspace_id']}/a.txt",
        ),
    ]
    return items


@pytest.fixture(scope="module")
def tenants(local: LocalPlatform) -> list[dict[str, str]]:
    tenants = _tenants(local)
    for t in tenants:
        with httpx.Client(base_url=local.url, headers={"Authorization": f"Bearer {t['token']}"}) as c:
            for method, path, body, _ in _writes(t):
                kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
                response = c.request(method, path, **kwargs)
                assert response.status_code in (200, 201), (path, response.text)
            created = c.post(
                f"/api/v1/orgs/{t['org_id']}/workspaces/{t['workspace_id']}/vector/indexes",
                json={"name": "v", "dimensions": 2},
            )
            t["index_id"] = created.json()["id"]
    return tenants


def test_each_tenant_reads_its_own_data(local: LocalPlatform, tenants: list[dict[str, str]]) -> None:
    for t in tenants:
        with httpx.Client(base_url=local.url, headers={"Authorization": f"Bearer {t['token']}"}) as c:
            for _, _, _, read in _writes(t):
                assert c.get(read).status_code == 200, read


def test_every_token_is_denied_the_others_data(local: LocalPlatform, tenants: list[dict[str, str]]) -> None:
    denied = 0
    for reader in tenants:
        with httpx.Client(base_url=local.url, headers={"Authorization": f"Bearer {reader['token']}"}) as c:
            for owner in tenants:
                if owner is reader:
                    continue
                for _, _, _, read in _writes(owner):
                    status = c.get(read).status_code
                    assert status in (403, 404), (read, status)
                    denied += 1
                ws = f"/api/v1/orgs/{owner['org_id']}/workspaces/{owner['workspace_id']}"
                assert c.post(
                    f"{ws}/vector/indexes/{owner['index_id']}/search", json={"query_embedding": [1, 0]}
                ).status_code in (403, 404)
                assert c.get(f"{ws}/audit/events").status_code == 403
                assert c.get(f"/api/v1/tenants/orgs/{owner['org_id']}/workspaces").status_code in (200, 403)
    assert denied > 4 * 3 * 20


def test_org_wide_token_sees_only_its_own_org(local: LocalPlatform, tenants: list[dict[str, str]]) -> None:
    assert local.platform is not None
    token = local.platform.tokens.mint_user_token("org-admin", tenants[0]["org_id"])
    with httpx.Client(base_url=local.url, headers={"Authorization": f"Bearer {token}"}) as c:
        orgs = c.get("/api/v1/tenants/orgs").json()
        assert [o["id"] for o in orgs] == [tenants[0]["org_id"]]
        workspaces = c.get(f"/api/v1/tenants/orgs/{tenants[0]['org_id']}/workspaces").json()
        assert {w["id"] for w in workspaces} == {tenants[0]["workspace_id"], tenants[1]["workspace_id"]}
        assert c.get(f"/api/v1/tenants/orgs/{tenants[2]['org_id']}/workspaces").status_code == 403
