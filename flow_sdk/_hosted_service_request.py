"""The one shape of a call to a hosted service, shared by ``flow.services`` and ``CLIClient.invoke_service``.

``/api/v1/orgs/{org_id}/services/{service_id}[/v{version}]/{path}`` has one operation per method and
per pinned/unpinned version in the document; :func:`service_call_request` picks the builder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flow_sdk._errors import FlowSDKError
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.client.services import (
    build_invoke_service_delete_request,
    build_invoke_service_get_request,
    build_invoke_service_post_request,
    build_invoke_service_put_request,
    build_invoke_service_version_delete_request,
    build_invoke_service_version_get_request,
    build_invoke_service_version_post_request,
    build_invoke_service_version_put_request,
)
from flow_sdk._generated.types import AnyValue

__all__ = ["SERVICE_METHODS", "service_call_request"]

SERVICE_METHODS = ("DELETE", "GET", "POST", "PUT")


def service_call_request(
    org_id: str,
    service_id: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    query: Mapping[str, Any] | None = None,
    version: int | None = None,
) -> ApiRequest[AnyValue]:
    """Build a call of ``method path`` on a hosted service (a body only for POST and PUT).

    Raises:
        FlowSDKError: The method is not GET, POST, PUT or DELETE, or ``version`` is below 1.
    """
    verb = method.upper()
    if verb not in SERVICE_METHODS:
        raise FlowSDKError(
            f"method must be one of {', '.join(SERVICE_METHODS)}, got {method!r}", code="invalid_request"
        )
    if version is not None and version < 1:
        raise FlowSDKError(f"version must be >= 1, got {version}", code="invalid_request")
    inner = path.lstrip("/")
    request = (
        _unpinned(org_id, service_id, verb, inner, body)
        if version is None
        else _pinned(org_id, service_id, version, verb, inner, body)
    )
    if query:
        request.params = dict(query)
    return request


def _unpinned(org_id: str, service_id: str, verb: str, path: str, body: Any) -> ApiRequest[AnyValue]:
    if verb == "GET":
        return build_invoke_service_get_request(org_id, service_id, path)
    if verb == "DELETE":
        return build_invoke_service_delete_request(org_id, service_id, path)
    if verb == "POST":
        return build_invoke_service_post_request(org_id, service_id, path, body=body)
    return build_invoke_service_put_request(org_id, service_id, path, body=body)


def _pinned(
    org_id: str, service_id: str, version: int, verb: str, path: str, body: Any
) -> ApiRequest[AnyValue]:
    if verb == "GET":
        return build_invoke_service_version_get_request(org_id, service_id, version, path)
    if verb == "DELETE":
        return build_invoke_service_version_delete_request(org_id, service_id, version, path)
    if verb == "POST":
        return build_invoke_service_version_post_request(org_id, service_id, version, path, body=body)
    return build_invoke_service_version_put_request(org_id, service_id, version, path, body=body)
