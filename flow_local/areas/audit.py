"""The append-only audit log of a workspace."""

from __future__ import annotations

from typing import Any

from flow_local._generated.models import AuditEvent, AuditEventCreate
from flow_local._generated.routers.audit import AuditOperations
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.db import from_json, to_json
from flow_local.errors import bad_request
from flow_local.values import new_id, now_iso

SCHEMA = [
    "CREATE TABLE audit_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " org_id TEXT NOT NULL, workspace_id TEXT NOT NULL, action TEXT NOT NULL, resource_type TEXT NOT NULL,"
    " resource_id TEXT NOT NULL, details TEXT, actor TEXT NOT NULL, execution_id TEXT, request_id TEXT,"
    " created_at TEXT NOT NULL)",
    "CREATE INDEX audit_events_ws ON audit_events (org_id, workspace_id, seq)",
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
]

_COLUMNS = "id, action, resource_type, resource_id, details, actor, execution_id, request_id, created_at"


NEXT_CURSOR_PREFIX = "seq_"


def _seq_of(cursor: str | None) -> int | None:
    """The event sequence number a cursor names (400 naming `cursor` when it names none)."""
    if cursor is None:
        return None
    digits = cursor.removeprefix(NEXT_CURSOR_PREFIX)
    if not cursor.startswith(NEXT_CURSOR_PREFIX) or not digits.isdigit():
        raise bad_request("the cursor is not one this list answered with", "cursor")
    return int(digits)


class AuditBackend(AuditOperations[Call]):
    """Append and list audit events (updates and deletes are refused by the database)."""

    def __init__(self, platform: Platform) -> None:
        self.db = platform.db
        self.db.migrate("audit", SCHEMA)

    def append(
        self,
        org_id: str,
        workspace_id: str,
        event: dict[str, Any],
        actor: str,
        execution_id: str | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Append an event (action, resource_type, resource_id, details)."""
        record = {
            "id": new_id(),
            "action": event["action"],
            "resource_type": event["resource_type"],
            "resource_id": event["resource_id"],
            "details": event.get("details"),
            "actor": actor,
            "execution_id": execution_id,
            "request_id": request_id,
            "created_at": now_iso(),
        }
        self.db.execute(
            f"INSERT INTO audit_events (org_id, workspace_id, {_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (org_id, workspace_id, *[to_json(v) if k == "details" else v for k, v in record.items()]),
        )
        return record

    def events(
        self,
        org_id: str,
        workspace_id: str,
        limit: int,
        offset: int,
        action: str | None = None,
        resource_id: str | None = None,
        before: int | None = None,
    ) -> list[dict[str, Any]]:
        """Events, newest first, optionally filtered; with ``before``, only those older than that seq."""
        sql = f"SELECT seq, {_COLUMNS} FROM audit_events WHERE org_id=? AND workspace_id=?"
        params: list[Any] = [org_id, workspace_id]
        if action is not None:
            sql += " AND action=?"
            params.append(action)
        if resource_id is not None:
            sql += " AND resource_id=?"
            params.append(resource_id)
        if before is not None:
            sql += " AND seq<?"
            params.append(before)
            offset = 0
        sql += " ORDER BY seq DESC LIMIT ? OFFSET ?"
        rows = self.db.query(sql, [*params, limit, offset])
        return [{**dict(r), "details": from_json(r["details"])} for r in rows]

    async def list_audit_events(
        self,
        call: Call,
        *,
        org_id: str,
        workspace_id: str,
        limit: int,
        offset: int,
        cursor: str | None,
        action: str | None,
        resource_id: str | None,
    ) -> list[AuditEvent]:
        """Events of the workspace, filtered by action and resource, a page at a time with cursors."""
        items = self.events(org_id, workspace_id, limit, offset, action, resource_id, _seq_of(cursor))
        if len(items) == limit:
            call.answer_headers["X-Next-Cursor"] = f"{NEXT_CURSOR_PREFIX}{items[-1]['seq']}"
        return [AuditEvent.model_validate({k: v for k, v in e.items() if k != "seq"}) for e in items]

    async def write_audit_event(
        self, call: Call, *, org_id: str, workspace_id: str, body: AuditEventCreate
    ) -> AuditEvent:
        """Append an event, recording the caller as its actor."""
        principal = call.principal
        record = self.append(
            org_id,
            workspace_id,
            body.model_dump(),
            principal.subject,
            principal.execution_id,
            call.request_id,
        )
        return AuditEvent.model_validate(record)
