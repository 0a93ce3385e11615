"""``flow.state``: component-scoped key-value state; fails closed outside a bound hosted-service request."""

from __future__ import annotations

from typing import Any, cast

from flow_sdk._errors import FlowSDKError, PlatformNotFoundError
from flow_sdk._generated.client.state import (
    build_delete_state_value_request,
    build_get_state_value_request,
    build_initialize_state_request,
    build_set_state_value_request,
)
from flow_sdk._generated.types import StateEntry, StateSnapshot
from flow_sdk.namespaces._base import Namespace

__all__ = ["StateNamespace"]


class StateNamespace(Namespace):
    """Persistent state of the running component (``service.component_id`` of the bound request)."""

    def _scope(self, key: str | None = None) -> tuple[str, str, str]:
        """Return (org_id, workspace_id, component_id), or refuse outside a bound request."""
        service: Any = self._flow._request_context().get("service") or {}
        component_id: Any = (
            cast("dict[str, Any]", service).get("component_id") if isinstance(service, dict) else None
        )
        if not component_id:
            raise FlowSDKError(
                "flow.state is only available inside a bound hosted-service request whose service context "
                "has a component_id (FlowSDK.bind_request_context(service={'component_id': ...}))",
                code="state_unbound",
            )
        if key is not None and key in ("", ".", ".."):
            raise FlowSDKError(
                f"invalid state key {key!r}: use a non-empty key other than '.' or '..'", code="invalid_key"
            )
        org_id, workspace_id = self._flow._workspace()
        return org_id, workspace_id, str(component_id)

    async def get(self, key: str, default: Any = None) -> Any:
        """Return the value stored under ``key``, or ``default`` (``GET .../state/{component}/keys/{key}``)."""
        scope = self._scope(key)
        try:
            entry = await self._send(build_get_state_value_request(*scope, key))
        except PlatformNotFoundError:
            return default
        return entry.get("value", default)

    async def set(self, key: str, value: Any) -> StateEntry:
        """Store ``value`` (any JSON) under ``key`` (``PUT .../state/{component}/keys/{key}``)."""
        scope = self._scope(key)
        return await self._send(build_set_state_value_request(*scope, key, body={"value": value}))

    async def delete(self, key: str) -> None:
        """Delete ``key`` (``DELETE .../state/{component}/keys/{key}``)."""
        await self._send(build_delete_state_value_request(*self._scope(key), key))

    async def initialize(self) -> StateSnapshot:
        """Initialize state from the component spec's defaults (``POST .../state/{component}/initialize``)."""
        return await self._send(build_initialize_state_request(*self._scope()))
