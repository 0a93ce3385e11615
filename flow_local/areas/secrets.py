"""Workspace secrets: any token of the workspace reads them; only user tokens write or list them."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from flow_server_models import Secret, SecretInfo, SecretWrite

from flow_local.areas.tenants import check_workspace
from flow_local.auth import Principal, get_principal, require_user
from flow_local.core import Platform, platform_of
from flow_local.errors import bad_request, not_found
from flow_local.values import now_iso

SCHEMA = [
    "CREATE TABLE secrets (org_id TEXT NOT NULL, workspace_id TEXT NOT NULL, name TEXT NOT NULL,"
    " value TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (org_id, workspace_id, name))",
]
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


class SecretsBackend:
    """Secret values of a workspace."""

    def __init__(self, platform: Platform) -> None:
        self.db = platform.db
        self.db.migrate("secrets", SCHEMA)
        self.sealer = platform.sealer

    def get(self, org_id: str, workspace_id: str, name: str) -> dict[str, Any]:
        """A secret's value (404 when absent)."""
        row = self.db.query_one(
            "SELECT value FROM secrets WHERE org_id=? AND workspace_id=? AND name=?",
            (org_id, workspace_id, name),
        )
        if row is None:
            raise not_found("secret", name)
        return {"name": name, "value": self.sealer.open(str(row[0]))}

    def set(self, org_id: str, workspace_id: str, name: str, value: str) -> dict[str, Any]:
        """Create or replace a secret (400 for a name outside the spec's SecretName pattern)."""
        if not NAME_PATTERN.fullmatch(name):
            raise bad_request(
                "a secret name has 1 to 200 characters among A-Z, a-z, 0-9, '_', '.' and '-'", "name"
            )
        now = now_iso()
        self.db.execute(
            "INSERT INTO secrets (org_id, workspace_id, name, value, updated_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT(org_id, workspace_id, name) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
            (org_id, workspace_id, name, self.sealer.seal(value), now),
        )
        return {"name": name, "updated_at": now}

    def delete(self, org_id: str, workspace_id: str, name: str) -> None:
        """Delete a secret (404 when absent)."""
        changed = self.db.execute(
            "DELETE FROM secrets WHERE org_id=? AND workspace_id=? AND name=?", (org_id, workspace_id, name)
        )
        if not changed:
            raise not_found("secret", name)

    def list(self, org_id: str, workspace_id: str) -> list[dict[str, Any]]:
        """Names and update times."""
        rows = self.db.query(
            "SELECT name, updated_at FROM secrets WHERE org_id=? AND workspace_id=? ORDER BY name",
            (org_id, workspace_id),
        )
        return [dict(r) for r in rows]


router = APIRouter(prefix="/api/v1/orgs/{org_id}/workspaces/{workspace_id}/secrets", tags=["secrets"])


def _secrets(request: Request) -> SecretsBackend:
    return platform_of(request).backend(SecretsBackend)


@router.get("")
async def list_secrets(
    org_id: str, workspace_id: str, request: Request, principal: Principal = Depends(get_principal)
) -> list[dict[str, Any]]:
    """GET .../secrets (management)."""
    check_workspace(request, principal, org_id, workspace_id)
    require_user(principal, "listing secrets")
    return [SecretInfo(**s).model_dump(mode="json") for s in _secrets(request).list(org_id, workspace_id)]


@router.get("/{name}")
async def get_secret(
    org_id: str, workspace_id: str, name: str, request: Request, principal: Principal = Depends(get_principal)
) -> dict[str, Any]:
    """GET .../secrets/{name}."""
    check_workspace(request, principal, org_id, workspace_id)
    return Secret(**_secrets(request).get(org_id, workspace_id, name)).model_dump(mode="json")


@router.put("/{name}")
async def set_secret(
    org_id: str,
    workspace_id: str,
    name: str,
    body: SecretWrite,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """PUT .../secrets/{name} (user tokens only)."""
    check_workspace(request, principal, org_id, workspace_id)
    require_user(principal, "writing a secret")
    return SecretInfo(**_secrets(request).set(org_id, workspace_id, name, body.value)).model_dump(mode="json")


@router.delete("/{name}", status_code=204)
async def delete_secret(
    org_id: str, workspace_id: str, name: str, request: Request, principal: Principal = Depends(get_principal)
) -> Response:
    """DELETE .../secrets/{name} (user tokens only)."""
    check_workspace(request, principal, org_id, workspace_id)
    require_user(principal, "deleting a secret")
    _secrets(request).delete(org_id, workspace_id, name)
    return Response(status_code=204)
