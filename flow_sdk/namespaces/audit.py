"""``flow.audit``: audit log entries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from flow_sdk._generated.client.audit import build_list_audit_events_request, build_write_audit_event_request
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.types import AuditEvent, AuditEventCreate
from flow_sdk.namespaces._base import Namespace

__all__ = ["AuditNamespace"]


class AuditNamespace(Namespace):
    """Write and read audit events."""

    async def log(
        self, action: str, resource_type: str, resource_id: str, details: dict[str, Any] | None = None
    ) -> AuditEvent:
        """Write one audit event (``POST .../audit/events``)."""
        org_id, workspace_id = self._flow._workspace()
        body: AuditEventCreate = {
            "action": action,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "details": details,
        }
        return await self._send(build_write_audit_event_request(org_id, workspace_id, body=body))

    async def list(
        self, limit: int = 100, offset: int = 0, action: str | None = None, resource_id: str | None = None
    ) -> list[AuditEvent]:
        """List audit events, newest first (``GET .../audit/events``)."""
        org_id, workspace_id = self._flow._workspace()
        request = build_list_audit_events_request(
            org_id,
            workspace_id,
            limit=limit,
            offset=offset,
            action=action or None,
            resource_id=resource_id or None,
        )
        return await self._send(request)

    def iter(
        self, action: str | None = None, resource_id: str | None = None, *, page_size: int = 100
    ) -> AsyncIterator[AuditEvent]:
        """Every matching audit event, newest first, fetched a page at a time as the loop goes on.

        Example::

            async for event in flow.audit.iter(action="deploy"):
                print(event["resource_id"])
        """
        org_id, workspace_id = self._flow._workspace()

        def page(cursor: str | None) -> ApiRequest[list[AuditEvent]]:
            return build_list_audit_events_request(
                org_id,
                workspace_id,
                limit=page_size,
                cursor=cursor,
                action=action or None,
                resource_id=resource_id or None,
            )

        return self._pages(page)
