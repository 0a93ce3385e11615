"""The append-only audit log of a workspace."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from flow_server_models import AuditEvent, AuditEventCreate

from flow_local.areas.tenants import check_workspace
from flow_local.auth import Principal, get_principal
from flow_local.core import Platform, platform_of
from flow_local.db import from_json, to_json
from flow_local.errors import request_id_of
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


class AuditBackend:
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

    def list(
        self,
        org_id: str,
        workspace_id: str,
        limit: int,
        offset: int,
        action: str | None = None,
        resource_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Events, newest first, optionally filtered."""
        sql = f"SELECT {_COLUMNS} FROM audit_events WHERE org_id=? AND workspace_id=?"
        params: list[Any] = [org_id, workspace_id]
        if action is not None:
            sql += " AND action=?"
            params.append(action)
        if resource_id is not None:
            sql += " AND resource_id=?"
            params.append(resource_id)
        sql += " ORDER BY seq DESC LIMIT ? OFFSET ?"
        rows = self.db.query(sql, [*params, limit, offset])
        return [{**dict(r), "details": from_json(r["details"])} for r in rows]


router = APIRouter(prefix="/api/v1/orgs/{org_id}/workspaces/{workspace_id}/audit/events", tags=["audit"])


def _audit(request: Request) -> AuditBackend:
    return platform_of(request).backend(AuditBackend)


def _render(record: dict[str, Any]) -> dict[str, Any]:
    return AuditEvent(**record).model_dump(mode="json")


@router.get("")
async def list_audit_events(
    org_id: str,
    workspace_id: str,
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    action: str | None = Query(None, max_length=200),
    resource_id: str | None = Query(None, max_length=200),
    principal: Principal = Depends(get_principal),
) -> list[dict[str, Any]]:
    """GET .../audit/events."""
    check_workspace(request, principal, org_id, workspace_id)
    return [
        _render(e) for e in _audit(request).list(org_id, workspace_id, limit, offset, action, resource_id)
    ]


@router.post("", status_code=201)
async def write_audit_event(
    org_id: str,
    workspace_id: str,
    body: AuditEventCreate,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../audit/events."""
    check_workspace(request, principal, org_id, workspace_id)
    record = _audit(request).append(
        org_id,
        workspace_id,
        body.model_dump(),
        principal.subject,
        principal.execution_id,
        request_id_of(request),
    )
    return _render(record)
