"""Organizations, workspaces and API keys, plus the first-start bootstrap."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from flow_server_models import ApiKey, ApiKeyCreate, ApiKeyCreated, Org, Workspace, WorkspaceCreate

from flow_local.auth import (
    Principal,
    generate_api_key,
    get_principal,
    hash_api_key,
    require_org,
    require_user,
    require_workspace,
)
from flow_local.core import Platform, platform_of
from flow_local.db import IntegrityError
from flow_local.errors import ApiError, conflict, forbidden, not_found
from flow_local.values import new_id, now_iso

SCHEMA = [
    "CREATE TABLE orgs (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE TABLE workspaces (id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id),"
    " name TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (org_id, name))",
    "CREATE TABLE api_keys (id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id),"
    " workspace_id TEXT, name TEXT NOT NULL, prefix TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,"
    " created_at TEXT NOT NULL)",
    "CREATE TABLE platform_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
]


class TenantsBackend:
    """Organizations, workspaces and API keys."""

    def __init__(self, platform: Platform) -> None:
        self.db = platform.db
        self.db.migrate("tenants", SCHEMA)

    def create_org(self, name: str, org_id: str | None = None) -> dict[str, Any]:
        """Create an organization."""
        org = {"id": org_id or new_id(), "name": name, "created_at": now_iso()}
        self.db.execute("INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)", tuple(org.values()))
        return org

    def get_org(self, org_id: str) -> dict[str, Any]:
        """One organization (404 when absent)."""
        row = self.db.query_one("SELECT id, name, created_at FROM orgs WHERE id = ?", (org_id,))
        if row is None:
            raise not_found("organization", org_id)
        return dict(row)

    def create_workspace(self, org_id: str, name: str, workspace_id: str | None = None) -> dict[str, Any]:
        """Create a workspace in an existing organization (409 on a duplicate name)."""
        self.get_org(org_id)
        ws = {"id": workspace_id or new_id(), "org_id": org_id, "name": name, "created_at": now_iso()}
        try:
            self.db.execute(
                "INSERT INTO workspaces (id, org_id, name, created_at) VALUES (?, ?, ?, ?)",
                tuple(ws.values()),
            )
        except IntegrityError as exc:
            raise conflict(f"workspace '{name}' exists already in this organization") from exc
        return ws

    def list_workspaces(self, org_id: str) -> list[dict[str, Any]]:
        """Workspaces of an organization, oldest first."""
        rows = self.db.query(
            "SELECT id, org_id, name, created_at FROM workspaces WHERE org_id = ? ORDER BY created_at, id",
            (org_id,),
        )
        return [dict(r) for r in rows]

    def get_workspace(self, org_id: str, workspace_id: str) -> dict[str, Any]:
        """One workspace of an organization (404 when absent)."""
        row = self.db.query_one(
            "SELECT id, org_id, name, created_at FROM workspaces WHERE id = ? AND org_id = ?",
            (workspace_id, org_id),
        )
        if row is None:
            raise not_found("workspace", workspace_id)
        return dict(row)

    def create_api_key(
        self, org_id: str, name: str, workspace_id: str | None = None, secret: str | None = None
    ) -> dict[str, Any]:
        """Create an API key; the returned dict holds the secret under ``key`` (the only time it is shown)."""
        self.get_org(org_id)
        if workspace_id is not None:
            self.get_workspace(org_id, workspace_id)
        key = secret or generate_api_key()
        record = {
            "id": new_id(),
            "org_id": org_id,
            "workspace_id": workspace_id,
            "name": name,
            "prefix": key[:10],
            "created_at": now_iso(),
        }
        self.db.execute(
            "INSERT INTO api_keys (id, org_id, workspace_id, name, prefix, key_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*list(record.values())[:5], hash_api_key(key), record["created_at"]),
        )
        return {**record, "key": key}

    def list_api_keys(self, org_id: str) -> list[dict[str, Any]]:
        """API keys of an organization, without their secrets."""
        rows = self.db.query(
            "SELECT id, org_id, workspace_id, name, prefix, created_at FROM api_keys WHERE org_id = ?"
            " ORDER BY created_at, id",
            (org_id,),
        )
        return [dict(r) for r in rows]

    def find_api_key(self, key: str) -> dict[str, Any] | None:
        """The key record matching a secret, or None."""
        row = self.db.query_one(
            "SELECT id, org_id, workspace_id, name FROM api_keys WHERE key_hash = ?", (hash_api_key(key),)
        )
        return dict(row) if row else None

    def get_meta(self, key: str) -> str | None:
        """A platform metadata value (bootstrap ids)."""
        row = self.db.query_one("SELECT value FROM platform_meta WHERE key = ?", (key,))
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a platform metadata value."""
        self.db.execute(
            "INSERT INTO platform_meta (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def check_workspace(request: Request, principal: Principal, org_id: str, workspace_id: str) -> None:
    """Token scope check (403) then existence check (404) of a workspace; use in workspace routes."""
    require_workspace(principal, org_id, workspace_id)
    platform_of(request).backend(TenantsBackend).get_workspace(org_id, workspace_id)


def check_org(request: Request, principal: Principal, org_id: str) -> None:
    """Token scope check (403) then existence check (404) of an organization."""
    require_org(principal, org_id)
    platform_of(request).backend(TenantsBackend).get_org(org_id)


router = APIRouter(prefix="/api/v1/tenants", tags=["tenants"])


def _tenants(request: Request) -> TenantsBackend:
    return platform_of(request).backend(TenantsBackend)


@router.get("/orgs")
async def list_orgs(request: Request, principal: Principal = Depends(get_principal)) -> list[dict[str, Any]]:
    """GET /api/v1/tenants/orgs: the caller's organization."""
    org = _tenants(request).get_org(principal.org_id)
    return [Org(**org).model_dump(mode="json", exclude_unset=True)]


@router.get("/orgs/{org_id}/workspaces")
async def list_workspaces(
    org_id: str, request: Request, principal: Principal = Depends(get_principal)
) -> list[dict[str, Any]]:
    """GET /api/v1/tenants/orgs/{org_id}/workspaces."""
    check_org(request, principal, org_id)
    items = _tenants(request).list_workspaces(org_id)
    if principal.workspace_id is not None:
        items = [w for w in items if w["id"] == principal.workspace_id]
    return [Workspace(**w).model_dump(mode="json", exclude_unset=True) for w in items]


@router.post("/orgs/{org_id}/workspaces", status_code=201)
async def create_workspace(
    org_id: str, body: WorkspaceCreate, request: Request, principal: Principal = Depends(get_principal)
) -> dict[str, Any]:
    """POST /api/v1/tenants/orgs/{org_id}/workspaces."""
    check_org(request, principal, org_id)
    require_user(principal, "creating a workspace")
    if principal.workspace_id is not None:
        raise forbidden("a workspace-bound token cannot create workspaces")
    ws = _tenants(request).create_workspace(org_id, body.name)
    return Workspace(**ws).model_dump(mode="json", exclude_unset=True)


@router.get("/orgs/{org_id}/api-keys")
async def list_api_keys(
    org_id: str, request: Request, principal: Principal = Depends(get_principal)
) -> list[dict[str, Any]]:
    """GET /api/v1/tenants/orgs/{org_id}/api-keys."""
    check_org(request, principal, org_id)
    require_user(principal, "listing API keys")
    keys = _tenants(request).list_api_keys(org_id)
    if principal.workspace_id is not None:
        keys = [k for k in keys if k["workspace_id"] == principal.workspace_id]
    return [ApiKey(**k).model_dump(mode="json", exclude_unset=True) for k in keys]


@router.post("/orgs/{org_id}/api-keys", status_code=201)
async def create_api_key(
    org_id: str, body: ApiKeyCreate, request: Request, principal: Principal = Depends(get_principal)
) -> dict[str, Any]:
    """POST /api/v1/tenants/orgs/{org_id}/api-keys."""
    check_org(request, principal, org_id)
    require_user(principal, "creating an API key")
    workspace_id = body.workspace_id or principal.workspace_id
    if principal.workspace_id is not None and workspace_id != principal.workspace_id:
        raise forbidden("a workspace-bound token can only create keys for its workspace")
    try:
        created = _tenants(request).create_api_key(org_id, body.name, workspace_id)
    except ApiError as exc:
        if exc.status == 404 and workspace_id is not None:
            raise ApiError(404, "not_found", exc.detail, "workspace_id") from exc
        raise
    return ApiKeyCreated(**created).model_dump(mode="json", exclude_unset=True)
