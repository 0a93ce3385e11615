"""``flow.audit``: audit log entries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flow_sdk._requests import body_model
from flow_sdk.namespaces._base import Namespace

if TYPE_CHECKING:
    from flow_types import AuditEvent

__all__ = ["AuditNamespace"]


class AuditNamespace(Namespace):
    """Write and read audit events."""

    async def log(
        self, action: str, resource_type: str, resource_id: str, details: dict[str, Any] | None = None
    ) -> AuditEvent:
        """Write one audit event (``POST .../audit/events``)."""
        org_id, workspace_id = self._flow._workspace()
        body = body_model(
            "AuditEventCreate",
            {
                "action": action,
                "resource_type": resource_type,
                "resource_id": resource_id,
                "details": details,
            },
        )
        return cast(
            "AuditEvent", await self._call("audit", "write_audit_event", org_id, workspace_id, body=body)
        )

    async def list(
        self, limit: int = 100, offset: int = 0, action: str | None = None, resource_id: str | None = None
    ) -> list[AuditEvent]:
        """List audit events, newest first (``GET .../audit/events``)."""
        org_id, workspace_id = self._flow._workspace()
        filters: dict[str, Any] = {
            key: value for key, value in (("action", action), ("resource_id", resource_id)) if value
        }
        result = await self._call(
            "audit", "list_audit_events", org_id, workspace_id, limit=limit, offset=offset, **filters
        )
        return cast("list[AuditEvent]", result)
