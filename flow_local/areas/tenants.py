"""Organizations, workspaces and API keys, plus the first-start bootstrap."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from flow_local._generated.models import ApiKey, ApiKeyCreate, ApiKeyCreated, Org, Workspace, WorkspaceCreate
from flow_local._generated.routers.tenants import TenantsOperations
from flow_local.auth import (
    Principal,
    generate_api_key,
    hash_api_key,
    require_org,
    require_user,
    require_workspace,
)
from flow_local.call import Call
from flow_local.core import Platform, platform_of
from flow_local.db import IntegrityError
from flow_local.errors import ApiError, conflict, forbidden, not_found
from flow_local.paging import Keyset, announce, select_page
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
ORGS_ORDER = Keyset("orgs", ("created_at", "id"))
WORKSPACES_ORDER = Keyset("workspaces", ("created_at", "id"))
API_KEYS_ORDER = Keyset("api_keys", ("created_at", "id"))
"""Each tenancy list is oldest first; the id breaks ties."""


class TenantsBackend(TenantsOperations[Call]):
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

    def add_workspace(self, org_id: str, name: str, workspace_id: str | None = None) -> dict[str, Any]:
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

    def workspaces_page(
        self, org_id: str, only: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of an organization's workspaces (only the workspace ``only`` when given), oldest first."""
        sql = "SELECT id, org_id, name, created_at FROM workspaces WHERE org_id = ?"
        params = [org_id]
        if only is not None:
            sql += " AND id = ?"
            params.append(only)
        page = select_page(self.db, WORKSPACES_ORDER, sql, params, limit=limit, cursor=cursor)
        return [dict(r) for r in page.rows], page.next_cursor

    def get_workspace(self, org_id: str, workspace_id: str) -> dict[str, Any]:
        """One workspace of an organization (404 when absent)."""
        row = self.db.query_one(
            "SELECT id, org_id, name, created_at FROM workspaces WHERE id = ? AND org_id = ?",
            (workspace_id, org_id),
        )
        if row is None:
            raise not_found("workspace", workspace_id)
        return dict(row)

    def add_api_key(
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

    def api_keys_page(
        self, org_id: str, only: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of an organization's API keys, without their secrets, oldest first.

        With ``only``, just the keys bound to that workspace.
        """
        sql = "SELECT id, org_id, workspace_id, name, prefix, created_at FROM api_keys WHERE org_id = ?"
        params = [org_id]
        if only is not None:
            sql += " AND workspace_id = ?"
            params.append(only)
        page = select_page(self.db, API_KEYS_ORDER, sql, params, limit=limit, cursor=cursor)
        return [dict(r) for r in page.rows], page.next_cursor

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

    async def list_orgs(self, call: Call, *, limit: int, cursor: str | None) -> list[Org]:
        """The caller's organization (a list of one, paged like every list)."""
        page = select_page(
            self.db,
            ORGS_ORDER,
            "SELECT id, name, created_at FROM orgs WHERE id = ?",
            (call.principal.org_id,),
            limit=limit,
            cursor=cursor,
        )
        announce(call.answer_headers, page.next_cursor)
        return [Org.model_validate(dict(r)) for r in page.rows]

    async def list_workspaces(
        self, call: Call, *, org_id: str, limit: int, cursor: str | None
    ) -> list[Workspace]:
        """Workspaces of the organization (only its own for a workspace-bound token), a page at a time."""
        items, next_cursor = self.workspaces_page(org_id, call.principal.workspace_id, limit, cursor)
        announce(call.answer_headers, next_cursor)
        return [Workspace.model_validate(w) for w in items]

    async def create_workspace(self, call: Call, *, org_id: str, body: WorkspaceCreate) -> Workspace:
        """Create a workspace (user tokens of the whole organization only)."""
        require_user(call.principal, "creating a workspace")
        if call.principal.workspace_id is not None:
            raise forbidden("a workspace-bound token cannot create workspaces")
        return Workspace.model_validate(self.add_workspace(org_id, body.name))

    async def list_api_keys(self, call: Call, *, org_id: str, limit: int, cursor: str | None) -> list[ApiKey]:
        """API keys of the organization (a workspace-bound token sees its workspace's keys), a page at a time."""
        principal = call.principal
        require_user(principal, "listing API keys")
        keys, next_cursor = self.api_keys_page(org_id, principal.workspace_id, limit, cursor)
        announce(call.answer_headers, next_cursor)
        return [ApiKey.model_validate(k) for k in keys]

    async def create_api_key(self, call: Call, *, org_id: str, body: ApiKeyCreate) -> ApiKeyCreated:
        """Create an API key; its secret is in this answer only."""
        principal = call.principal
        require_user(principal, "creating an API key")
        workspace_id = body.workspace_id or principal.workspace_id
        if principal.workspace_id is not None and workspace_id != principal.workspace_id:
            raise forbidden("a workspace-bound token can only create keys for its workspace")
        try:
            created = self.add_api_key(org_id, body.name, workspace_id)
        except ApiError as exc:
            if exc.status == 404 and workspace_id is not None:
                raise ApiError(404, "not_found", exc.detail, "workspace_id") from exc
            raise
        return ApiKeyCreated.model_validate(created)


def check_workspace(request: Request, principal: Principal, org_id: str, workspace_id: str) -> None:
    """Token scope check (403) then existence check (404) of a workspace; use in workspace routes."""
    require_workspace(principal, org_id, workspace_id)
    platform_of(request).backend(TenantsBackend).get_workspace(org_id, workspace_id)


def check_org(request: Request, principal: Principal, org_id: str) -> None:
    """Token scope check (403) then existence check (404) of an organization."""
    require_org(principal, org_id)
    platform_of(request).backend(TenantsBackend).get_org(org_id)
