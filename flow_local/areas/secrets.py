"""Workspace secrets: any token of the workspace reads them; only user tokens write or list them."""

from __future__ import annotations

from typing import Any

from flow_local._generated.models import Secret, SecretInfo, SecretWrite
from flow_local._generated.routers.secrets import SecretsOperations
from flow_local.auth import require_user
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.errors import not_found
from flow_local.values import now_iso

SCHEMA = [
    "CREATE TABLE secrets (org_id TEXT NOT NULL, workspace_id TEXT NOT NULL, name TEXT NOT NULL,"
    " value TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (org_id, workspace_id, name))",
]


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

    def names(self, org_id: str, workspace_id: str) -> list[dict[str, Any]]:
        """Names and update times."""
        rows = self.db.query(
            "SELECT name, updated_at FROM secrets WHERE org_id=? AND workspace_id=? ORDER BY name",
            (org_id, workspace_id),
        )
        return [dict(r) for r in rows]

    async def list_secrets(self, call: Call, *, org_id: str, workspace_id: str) -> list[SecretInfo]:
        """Names and update times (user tokens only)."""
        require_user(call.principal, "listing secrets")
        return [SecretInfo.model_validate(s) for s in self.names(org_id, workspace_id)]

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
