"""``flow.services``: calls to hosted services by method and path, optionally forwarding the caller's token.

The hosted service this code itself runs in is ``flow.service`` (:mod:`flow_sdk.namespaces.current_service`).
"""

from __future__ import annotations

from typing import Any, Literal

from flow_sdk._errors import FlowSDKError
from flow_sdk._generated.types import ServiceSkills
from flow_sdk._hosted_service_request import service_call_request
from flow_sdk.namespaces._base import Namespace
from flow_sdk.namespaces.current_service import inbound_token

__all__ = ["ServicesNamespace"]

AuthMode = Literal["caller_service_token"]


class ServicesNamespace(Namespace):
    """Generic and per-method calls to ``/api/v1/orgs/{org_id}/services/{service_id}[/v{version}]/{path}``."""

    def _auth_headers(
        self, headers: dict[str, str] | None, reuse_service_token: bool, auth: AuthMode | None
    ) -> dict[str, str]:
        """Merge caller headers with the forwarded caller token according to the auth mode."""
        merged = dict(headers or {})
        if auth is not None and auth != "caller_service_token":
            raise FlowSDKError(f"auth must be None or 'caller_service_token', got {auth!r}")
        if auth is None and not reuse_service_token:
            return merged
        token = inbound_token(self._flow)
        if not token:
            raise FlowSDKError(
                "no inbound caller token to forward: call inside a bound hosted-service request "
                "(bind_request_context(auth={'token': ...}))",
                code="caller_token_missing",
            )
        has_own = any(name.lower() == "authorization" for name in merged)
        if auth == "caller_service_token":
            merged = {name: value for name, value in merged.items() if name.lower() != "authorization"}
        elif has_own:
            return merged
        merged["Authorization"] = f"Bearer {token}"
        own = self._flow._auth_token
        if own and own != token:  # lets the platform accept a caller token forwarded by this service
            merged["X-Flow-Forwarded-By"] = f"Bearer {own}"
        return merged

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        service_id: str | None = None,
        version: int | None = None,
        *,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        reuse_service_token: bool = False,
        auth: AuthMode | None = None,
    ) -> Any:
        """Call ``method path`` on a hosted service (``/api/v1/orgs/{org}/services/{id}[/v{n}]/{path}``).

        Args:
            method: GET, POST, PUT or DELETE.
            path: Endpoint path inside the service, e.g. ``/summarize``.
            body: JSON body (POST and PUT).
            service_id: Target service (default: SERVICE_ID).
            version: Pin a deployed version.
            query: Query parameters.
            headers: Extra headers.
            reuse_service_token: Forward the inbound caller token unless ``headers`` sets Authorization.
            auth: ``"caller_service_token"`` always forwards the inbound token; caller-supplied
                Authorization headers cannot override it.

        Returns:
            The service's JSON answer (or bytes for a non-JSON answer).
        """
        target = service_id or self._flow._service_id
        if not target:
            raise FlowSDKError(
                "SERVICE_ID is not set: pass service_id= or export SERVICE_ID", code="missing_configuration"
            )
        request = service_call_request(
            self._flow._org(), str(target), method, path, body=body, query=query, version=version
        )
        extra = self._auth_headers(headers, reuse_service_token, auth)
        return await self._send(request, extra_headers=extra, retry=self._flow._service_call_retry)

    async def get(self, path: str, **kwargs: Any) -> Any:
        """GET ``path`` on a service; keyword arguments as for :meth:`call`."""
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        """POST ``path`` on a service; keyword arguments as for :meth:`call` (``body=`` is the JSON)."""
        return await self.call("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Any:
        """PUT ``path`` on a service; keyword arguments as for :meth:`call`."""
        return await self.call("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        """DELETE ``path`` on a service; keyword arguments as for :meth:`call`."""
        return await self.call("DELETE", path, **kwargs)

    async def skills(self, service_id: str | None = None, version: int | None = None) -> ServiceSkills:
        """Fetch the skills document of a service (``GET .../service-skills/{service_id}``)."""
        target = service_id or self._flow._service_id
        if not target:
            raise FlowSDKError(
                "SERVICE_ID is not set: pass service_id= or export SERVICE_ID", code="missing_configuration"
            )
        return await self._flow._platform().get_service_skills(target, version=version)
