"""The append-only audit log of a workspace."""

from __future__ import annotations

from typing import Any

from flow_local._generated.models import AuditEvent, AuditEventCreate
from flow_local._generated.routers._support import NEXT_CURSOR_HEADER
from flow_local._generated.routers.audit import AuditOperations
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.db import Row, from_json, to_json
from flow_local.paging import Keyset, Page, select_page
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


AUDIT_ORDER = Keyset("audit_events", ("seq",), descending=True, integers=("seq",))
"""Newest first: the append order, which is unique."""


def _event(row: Row) -> dict[str, Any]:
    """An event as the document's `AuditEvent`."""
    event = dict(row)
    del event["seq"]
    return {**event, "details": from_json(event["details"])}


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
        offset: int = 0,
        action: str | None = None,
        resource_id: str | None = None,
        cursor: str | None = None,
    ) -> Page:
        """One page of events, newest first, optionally filtered (from ``cursor`` when given)."""
        sql = f"SELECT seq, {_COLUMNS} FROM audit_events WHERE org_id=? AND workspace_id=?"
        params: list[Any] = [org_id, workspace_id]
        if action is not None:
            sql += " AND action=?"
            params.append(action)
        if resource_id is not None:
            sql += " AND resource_id=?"
            params.append(resource_id)
        return select_page(self.db, AUDIT_ORDER, sql, params, limit=limit, cursor=cursor, offset=offset)

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
        page = self.events(org_id, workspace_id, limit, offset, action, resource_id, cursor)
        if page.next_cursor is not None:
            call.answer_headers[NEXT_CURSOR_HEADER] = page.next_cursor
        return [AuditEvent.model_validate(_event(row)) for row in page.rows]

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
