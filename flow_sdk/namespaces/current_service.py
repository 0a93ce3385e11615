"""``flow.service``: the current service, i.e. the hosted service this code runs in, and its inbound caller token.

Not to be confused with ``flow.services`` (:mod:`flow_sdk.namespaces.service_calls`), which calls hosted services.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from flow_sdk._errors import FlowSDKError

if TYPE_CHECKING:
    from flow_sdk.flow_sdk import FlowSDK

__all__ = ["ServiceAuth", "ServiceNamespace", "inbound_token"]


def inbound_token(flow: FlowSDK) -> str | None:
    """Return the raw inbound bearer token of the bound request, or None.

    It is taken from ``auth["token"]``, else from the inbound ``authorization`` header.
    """
    context = flow._request_context()
    auth: dict[str, Any] = context.get("auth") or {}
    token = auth.get("token")
    if token:
        return str(token)
    headers: dict[str, Any] = context.get("headers") or {}
    header = headers.get("authorization", "")
    scheme, _, value = str(header).partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


class ServiceAuth:
    """Inbound service-token helpers for service-to-service calls."""

    def __init__(self, flow: FlowSDK) -> None:
        self._flow = flow

    def __repr__(self) -> str:
        return "<ServiceAuth>"

    def token(self, required: bool = False) -> str | None:
        """Return the inbound caller token of the bound request.

        Raises:
            FlowSDKError: ``required`` is True and no request with a token is bound.
        """
        value = inbound_token(self._flow)
        if value is None and required:
            raise FlowSDKError(
                "no inbound caller token: bind a request context with auth['token'] (hosted services do this)",
                code="caller_token_missing",
            )
        return value

    def reuse(self, required: bool = False) -> dict[str, str]:
        """Return headers that forward the inbound caller token to a downstream call."""
        value = self.token(required=required)
        return {"Authorization": f"Bearer {value}"} if value else {}


class ServiceNamespace:
    """The hosted service this code runs in (from the bound request context, else SERVICE_ID)."""

    def __init__(self, flow: FlowSDK) -> None:
        self._flow = flow

    def __repr__(self) -> str:
        return f"<ServiceNamespace service_id={self.service_id!r}>"

    def _service(self) -> dict[str, Any]:
        service: Any = self._flow._request_context().get("service") or {}
        return cast("dict[str, Any]", service) if isinstance(service, dict) else {}

    @cached_property
    def auth(self) -> ServiceAuth:
        """Inbound caller-token helpers."""
        return ServiceAuth(self._flow)

    @property
    def service_id(self) -> str | None:
        """The service id (bound context first, then SERVICE_ID)."""
        value = self._service().get("service_id") or self._flow._service_id
        return str(value) if value else None

    @property
    def component_id(self) -> str | None:
        """The component id of the bound request's service, if any."""
        value = self._service().get("component_id")
        return str(value) if value else None

    @property
    def version(self) -> int | None:
        """The deployed version of the bound request's service, if any."""
        value = self._service().get("version")
        return int(value) if value is not None else None
