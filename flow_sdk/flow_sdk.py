"""FlowSDK: the unified facade for code running inside the Manifest Platform."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar, Token
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from flow_sdk._errors import ConfigurationError
from flow_sdk._requests import RetryMode, send
from flow_sdk._transport import AsyncHttpSession, resolve_timeout

if TYPE_CHECKING:
    from uuid import UUID

    import httpx

    from flow_sdk._generated.client.request import ApiRequest
    from flow_sdk.gateway_client import GatewayClient
    from flow_sdk.namespaces.agents import AgentsNamespace
    from flow_sdk.namespaces.audit import AuditNamespace
    from flow_sdk.namespaces.auth import AuthNamespace
    from flow_sdk.namespaces.code_blocks import CodeBlocksNamespace
    from flow_sdk.namespaces.connectors import ConnectorsNamespace
    from flow_sdk.namespaces.conversations import ConversationsNamespace
    from flow_sdk.namespaces.current_service import ServiceNamespace
    from flow_sdk.namespaces.datasets import DatasetsNamespace
    from flow_sdk.namespaces.gateway import GatewayNamespace
    from flow_sdk.namespaces.jobs import JobsNamespace
    from flow_sdk.namespaces.memory import MemoryNamespace
    from flow_sdk.namespaces.secrets import SecretsNamespace
    from flow_sdk.namespaces.service_calls import ServicesNamespace
    from flow_sdk.namespaces.service_tokens import ServiceTokensNamespace
    from flow_sdk.namespaces.state import StateNamespace
    from flow_sdk.namespaces.storage import StorageNamespace
    from flow_sdk.namespaces.vector import VectorNamespace
    from flow_sdk.namespaces.workflows import WorkflowsNamespace
    from flow_sdk.platform_client import PlatformClient
    from flow_sdk.raw_response import RawResponseView

__all__ = ["FlowSDK"]

ResultT = TypeVar("ResultT")


def _env(value: object, name: str, default: str = "") -> str:
    return str(value) if value else os.environ.get(name, default)


class FlowSDK:
    """Unified SDK facade for code that runs on the platform: code blocks, agents, workflows and hosted services.

    Initializes from environment variables when called with no arguments (the normal case inside
    platform execution contexts). Namespaces are created on first access and share one pooled HTTP
    client; a missing setting raises :class:`ConfigurationError` naming the variable when a call needs it.
    """

    def __init__(
        self,
        *,
        org_id: str | UUID | None = None,
        workspace_id: str | UUID | None = None,
        auth_token: str | None = None,
        platform_url: str | None = None,
        gateway_url: str | None = None,
        service_id: str | UUID | None = None,
        execution_id: str | UUID | None = None,
        job_id: str | UUID | None = None,
        request_id: str | None = None,
        ring_id: str | UUID | None = None,
    ) -> None:
        self._request_context_var: ContextVar[dict[str, Any] | None] = ContextVar(
            "flow_sdk_request_context", default=None
        )
        self._org_id = _env(org_id, "ORG_ID")
        self._workspace_id = _env(workspace_id, "WORKSPACE_ID")
        self._platform_url = _env(platform_url, "PLATFORM_API_URL").rstrip("/")
        self._gateway_url = (_env(gateway_url, "GATEWAY_URL") or self._platform_url).rstrip("/")
        self._service_id = _env(service_id, "SERVICE_ID")
        self._execution_id = _env(execution_id, "EXECUTION_ID")
        self._job_id = _env(job_id, "JOB_ID")
        self._request_id = _env(request_id, "REQUEST_ID")
        self._ring_id = _env(ring_id, "RING_ID")
        self._session = AsyncHttpSession(_env(auth_token, "AUTH_TOKEN"), timeout=resolve_timeout(None))
        self._platform_client: PlatformClient | None = None
        self._gateway_client: GatewayClient | None = None
        self._service_call_retry: RetryMode = "connect"

    @property
    def with_raw_response(self) -> RawResponseView:
        """The same calls, each returning a ``RawResponse``: status, headers and request id with the result."""
        from flow_sdk.raw_response import RawResponseView  # loaded on first use, not with the SDK

        return RawResponseView(self)

    def __repr__(self) -> str:
        return (
            f"FlowSDK(org_id={self._org_id!r}, workspace_id={self._workspace_id!r}, "
            f"platform_url={self._platform_url!r}, service_id={self._service_id!r})"
        )

    async def __aenter__(self) -> FlowSDK:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- configuration -------------------------------------------------------------------------------

    @property
    def _auth_token(self) -> str:
        return self._session.auth.token

    def _require(self, value: str, env_var: str, argument: str) -> str:
        if not value:
            raise ConfigurationError.missing(env_var, argument)
        return value

    def _org(self) -> str:
        return self._require(self._org_id, "ORG_ID", "org_id")

    def _workspace(self) -> tuple[str, str]:
        return self._org(), self._require(self._workspace_id, "WORKSPACE_ID", "workspace_id")

    def _ring(self, ring_id: str | UUID | None) -> str:
        return self._require(str(ring_id or self._ring_id), "RING_ID", "ring_id")

    def _http(self) -> httpx.AsyncClient:
        self._require(self._platform_url, "PLATFORM_API_URL", "platform_url")
        self._require(self._auth_token, "AUTH_TOKEN", "auth_token")
        return self._session.client(self._platform_url)

    async def _send(
        self,
        api: ApiRequest[ResultT],
        *,
        extra_headers: Mapping[str, str] | None = None,
        retry: RetryMode | None = None,
    ) -> ResultT:
        """Send one built request through the shared platform client and map its errors."""
        return await send(self._http(), api, extra_headers=extra_headers, retry=retry)

    def _platform(self) -> PlatformClient:
        """The PlatformClient behind the execution namespaces, sharing this SDK's pooled client."""
        if self._platform_client is None:
            from flow_sdk.platform_client import PlatformClient

            self._http()
            client = PlatformClient(
                base_url=self._platform_url,
                auth_token=self._auth_token,
                org_id=self._org_id or None,
                workspace_id=self._workspace_id or None,
                timeout=self._session.timeout,
            )
            client._session, client._owns_session = self._session, False
            self._platform_client = client
        return self._platform_client

    def _gateway(self) -> GatewayClient:
        """The GatewayClient behind ``flow.gateway``, sharing this SDK's pooled clients."""
        if self._gateway_client is None:
            from flow_sdk.gateway_client import GatewayClient

            self._require(self._gateway_url, "GATEWAY_URL", "gateway_url")
            self._require(self._auth_token, "AUTH_TOKEN", "auth_token")
            client = GatewayClient(self._gateway_url, self._auth_token, timeout=self._session.timeout)
            client._session, client._owns_session = self._session, False
            self._gateway_client = client
        return self._gateway_client

    def with_options(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        retry_service_calls: bool | None = None,
    ) -> FlowSDK:
        """Return a copy of this SDK whose calls use other request options.

        The copy shares the configuration, the token (a refresh reaches both) and the bound request
        context; it has its own connection pools, closed by :meth:`close` of either.

        Args:
            timeout: Request timeout in seconds.
            max_retries: Retries of a failed request that is safe to send again (0: none).
            extra_headers: Headers added to every request.
            idempotency_key: The ``Idempotency-Key`` of the copy's submissions (the operations that take
                one), e.g. to submit an execution exactly once across restarts of the caller: the
                platform runs a submission once per key.
            http_client: An ``httpx.AsyncClient`` to send through (its transport, proxies, limits and
                event hooks); base URL, auth, headers, timeouts and retries stay the SDK's.
            retry_service_calls: Let ``flow.services`` calls be retried like any other request
                (idempotent methods, and requests whose ``headers=`` carry an Idempotency-Key). By
                default a hosted-service call is retried only when the connection failed.

        Example:
            >>> quick = flow.with_options(timeout=5, max_retries=0)
            >>> await quick.secrets.get("API_KEY")
        """
        import copy  # loaded on first use, not with the SDK

        clone = copy.copy(self)
        for name in [name for name, value in vars(type(self)).items() if isinstance(value, cached_property)]:
            clone.__dict__.pop(name, None)
        clone._session = self._session.derive(
            timeout=timeout,
            max_retries=max_retries,
            headers=extra_headers,
            idempotency_key=idempotency_key,
            http_client=http_client,
        )
        if retry_service_calls is not None:
            clone._service_call_retry = "safe" if retry_service_calls else "connect"
        clone._platform_client = None
        clone._gateway_client = None
        return clone

    # -- request context -----------------------------------------------------------------------------

    def _request_context(self) -> dict[str, Any]:
        return self._request_context_var.get() or {}

    def bind_request_context(
        self,
        *,
        auth: dict[str, Any] | None = None,
        execution: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        service: dict[str, Any] | None = None,
    ) -> Token[dict[str, Any] | None]:
        """Bind the context of one hosted-service request (auth, execution, inbound headers, service) for this task."""
        normalized_headers: dict[str, str] = {}
        for key, value in (headers or {}).items():
            normalized_key = str(key).strip().lower()
            if normalized_key:
                normalized_headers[normalized_key] = str(value)
        return self._request_context_var.set(
            {
                "auth": dict(auth or {}),
                "execution": dict(execution or {}),
                "headers": normalized_headers,
                "service": dict(service or {}),
            }
        )

    def reset_request_context(self, token: Token[dict[str, Any] | None]) -> None:
        """Reset the hosted-service request context to what it was before the matching bind."""
        self._request_context_var.reset(token)

    # -- lifecycle -----------------------------------------------------------------------------------

    async def log(
        self,
        action: str,
        resource_type: str,
        resource_id: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Backward-compatible alias for ``flow.audit.log(...)``."""
        await self.audit.log(
            action=action, resource_type=resource_type, resource_id=resource_id, details=details
        )

    async def refresh_auth_token(self, new_token: str) -> None:
        """Replace the platform auth token and update cached clients in place.

        Called by the background token-refresh loop in persistent runtimes so that the SDK always uses
        a valid (non-expired) JWT.
        """
        if not new_token:
            raise ConfigurationError("refresh_auth_token needs a non-empty token", code="invalid_token")
        self._session.set_token(new_token)

    async def close(self) -> None:
        """Close cached clients held by this FlowSDK instance."""
        if self._platform_client is not None:
            await self._platform_client.close()
            self._platform_client = None
        self._gateway_client = None
        await self._session.aclose()

    # -- namespaces ----------------------------------------------------------------------------------

    @cached_property
    def gateway(self) -> GatewayNamespace:
        """AI gateway: chat completions, streaming, embeddings, models."""
        from flow_sdk.namespaces.gateway import GatewayNamespace

        return GatewayNamespace(self)

    @cached_property
    def datasets(self) -> DatasetsNamespace:
        """Structured and vector queries over platform datasets."""
        from flow_sdk.namespaces.datasets import DatasetsNamespace

        return DatasetsNamespace(self)

    @cached_property
    def code_blocks(self) -> CodeBlocksNamespace:
        """Durable code block executions."""
        from flow_sdk.namespaces.code_blocks import CodeBlocksNamespace

        return CodeBlocksNamespace(self)

    @cached_property
    def agents(self) -> AgentsNamespace:
        """Durable agent executions."""
        from flow_sdk.namespaces.agents import AgentsNamespace

        return AgentsNamespace(self)

    @cached_property
    def workflows(self) -> WorkflowsNamespace:
        """Durable workflow executions."""
        from flow_sdk.namespaces.workflows import WorkflowsNamespace

        return WorkflowsNamespace(self)

    @cached_property
    def services(self) -> ServicesNamespace:
        """Calls to hosted services (this one or others) by method and path."""
        from flow_sdk.namespaces.service_calls import ServicesNamespace

        return ServicesNamespace(self)

    @cached_property
    def connectors(self) -> ConnectorsNamespace:
        """Connector operations, DDL and large writes."""
        from flow_sdk.namespaces.connectors import ConnectorsNamespace

        return ConnectorsNamespace(self)

    @cached_property
    def state(self) -> StateNamespace:
        """Component-scoped key-value state (inside a bound hosted-service request only)."""
        from flow_sdk.namespaces.state import StateNamespace

        return StateNamespace(self)

    @cached_property
    def secrets(self) -> SecretsNamespace:
        """Read-only secrets."""
        from flow_sdk.namespaces.secrets import SecretsNamespace

        return SecretsNamespace(self)

    @cached_property
    def storage(self) -> StorageNamespace:
        """Object storage and pre-signed URLs."""
        from flow_sdk.namespaces.storage import StorageNamespace

        return StorageNamespace(self)

    @cached_property
    def vector(self) -> VectorNamespace:
        """Vector indexes."""
        from flow_sdk.namespaces.vector import VectorNamespace

        return VectorNamespace(self)

    @cached_property
    def memory(self) -> MemoryNamespace:
        """Semantic memory with automatic embedding."""
        from flow_sdk.namespaces.memory import MemoryNamespace

        return MemoryNamespace(self)

    @cached_property
    def auth(self) -> AuthNamespace:
        """The caller's identity in the bound request context."""
        from flow_sdk.namespaces.auth import AuthNamespace

        return AuthNamespace(self)

    @cached_property
    def audit(self) -> AuditNamespace:
        """Audit log entries."""
        from flow_sdk.namespaces.audit import AuditNamespace

        return AuditNamespace(self)

    @cached_property
    def jobs(self) -> JobsNamespace:
        """Async jobs."""
        from flow_sdk.namespaces.jobs import JobsNamespace

        return JobsNamespace(self)

    @cached_property
    def service_tokens(self) -> ServiceTokensNamespace:
        """Service tokens: short-lived tokens a hosted service mints for its callers."""
        from flow_sdk.namespaces.service_tokens import ServiceTokensNamespace

        return ServiceTokensNamespace(self)

    @cached_property
    def conversations(self) -> ConversationsNamespace:
        """Stored agent conversations."""
        from flow_sdk.namespaces.conversations import ConversationsNamespace

        return ConversationsNamespace(self)

    @cached_property
    def service(self) -> ServiceNamespace:
        """The hosted service this code runs in (the current service): its identity and inbound auth."""
        from flow_sdk.namespaces.current_service import ServiceNamespace

        return ServiceNamespace(self)
