"""Workspace secrets: any token of the workspace reads them; only user tokens write or list them."""

from __future__ import annotations

from typing import Any

from flow_local._generated.models import Secret, SecretInfo, SecretWrite
from flow_local._generated.routers.secrets import SecretsOperations
from flow_local.auth import require_user
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.errors import not_found
from flow_local.paging import Keyset, announce, select_page
from flow_local.values import now_iso

SCHEMA = [
    "CREATE TABLE secrets (org_id TEXT NOT NULL, workspace_id TEXT NOT NULL, name TEXT NOT NULL,"
    " value TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (org_id, workspace_id, name))",
]
SECRETS_ORDER = Keyset("secrets", ("name",))
"""Name order; a name is unique in its workspace."""


class SecretsBackend(SecretsOperations[Call]):
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
        """Create or replace a secret (the router has checked the name against the document)."""
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

    def names(
        self, org_id: str, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of names and update times, in name order, and the cursor of the next page."""
        page = select_page(
            self.db,
            SECRETS_ORDER,
            "SELECT name, updated_at FROM secrets WHERE org_id=? AND workspace_id=?",
            (org_id, workspace_id),
            limit=limit,
            cursor=cursor,
        )
        return [dict(r) for r in page.rows], page.next_cursor

    async def list_secrets(
        self, call: Call, *, org_id: str, workspace_id: str, limit: int, cursor: str | None
    ) -> list[SecretInfo]:
        """Names and update times (user tokens only), a page at a time."""
        require_user(call.principal, "listing secrets")
        names, next_cursor = self.names(org_id, workspace_id, limit, cursor)
        announce(call.answer_headers, next_cursor)
        return [SecretInfo.model_validate(s) for s in names]

    async def get_secret(self, call: Call, *, org_id: str, workspace_id: str, name: str) -> Secret:
        """A secret's value (any token of the workspace)."""
        return Secret.model_validate(self.get(org_id, workspace_id, name))

    async def set_secret(
        self, call: Call, *, org_id: str, workspace_id: str, name: str, body: SecretWrite
    ) -> SecretInfo:
        """Create or replace a secret (user tokens only)."""
        require_user(call.principal, "writing a secret")
        return SecretInfo.model_validate(self.set(org_id, workspace_id, name, body.value))

    async def delete_secret(self, call: Call, *, org_id: str, workspace_id: str, name: str) -> None:
        """Delete a secret (user tokens only)."""
        require_user(call.principal, "deleting a secret")
        self.delete(org_id, workspace_id, name)
