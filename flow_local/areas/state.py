"""Persistent key-value state per component, initialised from the component's ``state_defaults``."""

from __future__ import annotations

from typing import Any

from flow_local._generated.models import StateEntry, StateSnapshot, StateValue
from flow_local._generated.routers.state import StateOperations
from flow_local.areas.catalog import CatalogBackend
from flow_local.areas.resources import ResourcesBackend
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.db import from_json, to_json
from flow_local.errors import ApiError, not_found
from flow_local.values import now_iso

SCHEMA = [
    "CREATE TABLE state_values (org_id TEXT NOT NULL, workspace_id TEXT NOT NULL, component_id TEXT NOT NULL,"
    " key TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL,"
    " PRIMARY KEY (org_id, workspace_id, component_id, key))",
]


class StateBackend(StateOperations[Call]):
    """Component state values."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.db = platform.db
        self.db.migrate("state", SCHEMA)

    def get(self, org_id: str, workspace_id: str, component_id: str, key: str) -> dict[str, Any]:
        """One value (404 when the key is absent)."""
        row = self.db.query_one(
            "SELECT value, updated_at FROM state_values WHERE org_id=? AND workspace_id=? AND component_id=? AND key=?",
            (org_id, workspace_id, component_id, key),
        )
        if row is None:
            raise not_found("state key", key)
        return {"key": key, "value": from_json(row[0]), "updated_at": row[1]}

    def set(self, org_id: str, workspace_id: str, component_id: str, key: str, value: Any) -> dict[str, Any]:
        """Write one value."""
        now = now_iso()
        self.db.execute(
            "INSERT INTO state_values (org_id, workspace_id, component_id, key, value, updated_at)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT(org_id, workspace_id, component_id, key)"
            " DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
            (org_id, workspace_id, component_id, key, to_json(value), now),
        )
        return {"key": key, "value": value, "updated_at": now}

    def delete(self, org_id: str, workspace_id: str, component_id: str, key: str) -> None:
        """Delete one value (no error when absent)."""
        self.db.execute(
            "DELETE FROM state_values WHERE org_id=? AND workspace_id=? AND component_id=? AND key=?",
            (org_id, workspace_id, component_id, key),
        )

    def snapshot(self, org_id: str, workspace_id: str, component_id: str) -> dict[str, Any]:
        """Every value of a component."""
        rows = self.db.query(
            "SELECT key, value FROM state_values WHERE org_id=? AND workspace_id=? AND component_id=? ORDER BY key",
            (org_id, workspace_id, component_id),
        )
        return {r[0]: from_json(r[1]) for r in rows}

    def defaults_of(self, org_id: str, workspace_id: str, component_id: str) -> dict[str, Any]:
        """``state_defaults`` of the component (catalog) or hosted service (resource) with this id."""
        try:
            spec = self.platform.backend(CatalogBackend).find(org_id, workspace_id, component_id)["spec"]
        except ApiError:
            try:
                spec = self.platform.backend(ResourcesBackend).get(
                    org_id, workspace_id, "hosted_service", component_id
                )["spec"]
            except ApiError:
                return {}
        defaults = spec.get("state_defaults") or {}
        return dict(defaults) if isinstance(defaults, dict) else {}

    def initialize(self, org_id: str, workspace_id: str, component_id: str) -> dict[str, Any]:
        """Fill absent keys from the defaults; return the whole state."""
        defaults = self.defaults_of(org_id, workspace_id, component_id)
        now = now_iso()
        with self.db.transaction() as conn:
            for key, value in defaults.items():
                conn.execute(
                    "INSERT OR IGNORE INTO state_values (org_id, workspace_id, component_id, key, value, updated_at)"
                    " VALUES (?,?,?,?,?,?)",
                    (org_id, workspace_id, component_id, str(key), to_json(value), now),
                )
        return {"component_id": component_id, "values": self.snapshot(org_id, workspace_id, component_id)}

    async def get_state_value(
        self, call: Call, *, org_id: str, workspace_id: str, component_id: str, key: str
    ) -> StateEntry:
        """One value of a component (404 when the key is absent)."""
        return StateEntry.model_validate(self.get(org_id, workspace_id, component_id, key))

    async def set_state_value(
        self, call: Call, *, org_id: str, workspace_id: str, component_id: str, key: str, body: StateValue
    ) -> StateEntry:
        """Write one value of a component."""
        entry = self.set(org_id, workspace_id, component_id, key, body.model_dump()["value"])
        return StateEntry.model_validate(entry)

    async def delete_state_value(
        self, call: Call, *, org_id: str, workspace_id: str, component_id: str, key: str
    ) -> None:
        """Delete one value of a component."""
        self.delete(org_id, workspace_id, component_id, key)

    async def initialize_state(
        self, call: Call, *, org_id: str, workspace_id: str, component_id: str
    ) -> StateSnapshot:
        """Fill the component's absent keys from its defaults."""
        return StateSnapshot.model_validate(self.initialize(org_id, workspace_id, component_id))
