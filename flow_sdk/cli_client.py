"""CLIClient: the synchronous client for scripts and the ``flow`` command, backed by :class:`FlowConfig`.

Requests are built by the generated builders (``flow_sdk._generated.client.<tag>.build_<operation>_request``)
and sent by :func:`flow_sdk._requests.send_sync` through the sync client of :mod:`flow_sdk._transport`
(retries, auth header, timeouts); failures become :class:`CLIClientError` without the token.

Example:
    >>> client = CLIClient(FlowConfig.load())
    >>> client.list_orgs()
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, TypeVar

import httpx

from flow_sdk._errors import (
    CLIAuthenticationError,
    CLIClientError,
    FlowSDKError,
)
from flow_sdk._executions import list_pages, single_request, submission
from flow_sdk._generated.client.auth import (
    build_create_cli_login_request_request,
    build_get_current_user_request,
    build_poll_cli_login_request_request,
)
from flow_sdk._generated.client.catalog import build_create_component_request
from flow_sdk._generated.client.connectors import build_execute_connector_ddl_request
from flow_sdk._generated.client.enums import DDL_REQUEST_SCOPE_TYPE, EXECUTION_STATUS_VALUE
from flow_sdk._generated.client.executions import (
    build_cancel_execution_request,
    build_get_execution_request,
    build_get_execution_result_request,
    build_list_execution_events_request,
    build_list_executions_request,
)
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.client.tenants import build_list_orgs_request, build_list_workspaces_request
from flow_sdk._generated.types import (
    AnyValue,
    CliLoginRequest,
    CliLoginStatus,
    Component,
    ComponentCreate,
    CurrentUser,
    DdlRequest,
    DdlResult,
    Execution,
    ExecutionEvent,
    ExecutionHandle,
    ExecutionResult,
    ExecutionStatusValue,
    Org,
    Workspace,
)
from flow_sdk._hosted_service_request import service_call_request
from flow_sdk._pages import MAX_PAGE_SIZE, PageBuilder, iterate_pages_sync
from flow_sdk._polling import PollSettings, StatusCallback, await_terminal_sync
from flow_sdk._requests import RetryMode, checked_body, choose, send_sync
from flow_sdk._transport import (
    DEFAULT_MAX_RETRIES,
    BearerAuth,
    SyncClientTransport,
    build_sync_client,
    resolve_timeout,
)
from flow_sdk._unauthenticated import exchange_api_key, unauthenticated_send
from flow_sdk.cli_namespaces import (
    CLIComponentBackupsNamespace,
    CLIComponentDeploymentsNamespace,
    CLIConnectorInstancesNamespace,
    CLIConnectorsNamespace,
    CLIDatasetsNamespace,
    CLIExperimentsNamespace,
    CLIHostedServicesNamespace,
    CLIMcpServersNamespace,
    CLIPoliciesNamespace,
    CLIRingsNamespace,
    CLIWebhooksNamespace,
    CLIWorkflowDeploymentsNamespace,
    CodeBlocksNamespace,
    ComponentTypeNamespace,
    SolutionsNamespace,
    ToolsNamespace,
    WorkflowsNamespace,
)
from flow_sdk.config import FlowConfig
from flow_sdk.raw_response import RawResponseView

__all__ = ["CLIAuthenticationError", "CLIClient", "CLIClientError", "FlowConfig"]

CLIENT_TIMEOUT_SECONDS = 30.0
LoginCallback = Callable[[CliLoginStatus], None]
ResultT = TypeVar("ResultT")
ItemT = TypeVar("ItemT")


class CLIClient:
    """Synchronous HTTP client backed by :class:`FlowConfig` credentials."""

    def __init__(self, config: FlowConfig) -> None:
        self._config = config
        refresher = config.refresh_access_token if config.api_key else None
        self._auth = BearerAuth(config.access_token, refresher)
        self._service_call_retry: RetryMode = "connect"
        self._client = build_sync_client(
            config.platform_url or "http://127.0.0.1:8080", self._auth, timeout=CLIENT_TIMEOUT_SECONDS
        )

        # Component type namespaces
        self.agents = ComponentTypeNamespace(self, "agent")
        self.models = ComponentTypeNamespace(self, "model")
        self.tools = ToolsNamespace(self)
        self.prompts = ComponentTypeNamespace(self, "prompt")
        self.code_blocks = CodeBlocksNamespace(self)
        self.workflows = WorkflowsNamespace(self)
        self.transforms = ComponentTypeNamespace(self, "transform")
        self.validations = ComponentTypeNamespace(self, "validation")
        self.schemas = ComponentTypeNamespace(self, "schema")
        self.states = ComponentTypeNamespace(self, "state")
        self.observability = ComponentTypeNamespace(self, "observability")

        # Resource namespaces
        self.solutions = SolutionsNamespace(self)
        self.connectors = CLIConnectorsNamespace(self)
        self.connector_instances = CLIConnectorInstancesNamespace(self)
        self.datasets = CLIDatasetsNamespace(self)

        # Canonical deployment + hosted-service namespaces
        self.component_deployments = CLIComponentDeploymentsNamespace(self)
        self.workflow_deployments = CLIWorkflowDeploymentsNamespace(self)
        self.rings = CLIRingsNamespace(self)
        self.component_backups = CLIComponentBackupsNamespace(self)
        self.hosted_services = CLIHostedServicesNamespace(self)

        self.policies = CLIPoliciesNamespace(self)
        self.webhooks = CLIWebhooksNamespace(self)
        self.mcp_servers = CLIMcpServersNamespace(self)
        self.experiments = CLIExperimentsNamespace(self)

    @property
    def with_raw_response(self) -> RawResponseView:
        """The same calls, each returning a ``RawResponse``: status, headers and request id with the result."""
        return RawResponseView(self)

    def __repr__(self) -> str:
        return f"CLIClient(platform_url={self._config.platform_url!r}, org_id={self._config.org_id!r})"

    def __enter__(self) -> CLIClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()

    def with_options(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        http_client: httpx.Client | None = None,
        retry_service_calls: bool | None = None,
    ) -> CLIClient:
        """Return a client for the same configuration whose calls use other request options.

        Args:
            timeout: Request timeout in seconds (default 30).
            max_retries: Retries of a failed request that is safe to send again (0: none).
            extra_headers: Headers added to every request.
            idempotency_key: The ``Idempotency-Key`` of the new client's submissions.
            http_client: An ``httpx.Client`` to send through (its transport, proxies and event hooks);
                base URL, auth, headers, timeouts and retries stay this client's.
            retry_service_calls: Let :meth:`invoke_service` calls be retried like any other request
                (idempotent methods); by default only a failed connection is retried.

        The new client has its own connections; close it (or use it in a ``with`` block) when done.
        """
        clone = CLIClient(self._config)
        clone._client.close()
        clone._client = build_sync_client(
            str(self._client.base_url),
            self._auth,
            timeout=CLIENT_TIMEOUT_SECONDS if timeout is None else resolve_timeout(timeout),
            max_retries=DEFAULT_MAX_RETRIES if max_retries is None else max_retries,
            headers=extra_headers,
            transport=None if http_client is None else SyncClientTransport(http_client),
            idempotency_key=idempotency_key,
        )
        if retry_service_calls is not None:
            clone._service_call_retry = "safe" if retry_service_calls else "connect"
        return clone

    @property
    def config(self) -> FlowConfig:
        """The configuration this client was built from."""
        return self._config

    # ------------------------------------------------------------ sending
    def send_request(self, api: ApiRequest[ResultT]) -> ResultT:
        """Send a request built by a generated builder and return its typed result.

        Raises:
            CLIClientError: The mapped error (a :class:`CLIAuthenticationError` for a 401).
        """
        return send_sync(self._client, api, family="cli")

    def _iterate(self, build: PageBuilder[ItemT]) -> Iterator[ItemT]:
        """The items of a list that pages, fetched a page at a time as the loop goes on."""
        return iterate_pages_sync(self._client, build, family="cli")

    def _org(self) -> str:
        if not self._config.org_id:
            raise CLIClientError("no organization: set org_id in the config (`flow login`) or export ORG_ID")
        return self._config.org_id

    def _tenant(self) -> tuple[str, str]:
        """Return (org_id, workspace_id), or raise a clear error naming what is missing."""
        if not self._config.workspace_id:
            raise CLIClientError(
                "no workspace: run `flow workspaces use WORKSPACE_ID` or export WORKSPACE_ID"
            )
        return self._org(), self._config.workspace_id

    # ------------------------------------------------------------ static: auth
    @staticmethod
    def exchange_api_key(platform_url: str, api_key: str, ttl_minutes: int = 60) -> str:
        """Exchange an org API key (fl_...) for a JWT access token (``POST /api/v1/auth/token``)."""
        return exchange_api_key(platform_url, api_key, ttl_minutes)

    @staticmethod
    def create_cli_login_request(platform_url: str) -> CliLoginRequest:
        """Create a request-bound CLI login request (unauthenticated; ``POST /api/v1/auth/cli-login-requests``)."""
        return unauthenticated_send(
            platform_url, build_create_cli_login_request_request(), "CLI login request"
        )

    @staticmethod
    def poll_cli_login_request(platform_url: str, request_id: str) -> CliLoginStatus:
        """Poll a CLI login request once (``GET /api/v1/auth/cli-login-requests/{request_id}``)."""
        request = build_poll_cli_login_request_request(request_id)
        return unauthenticated_send(platform_url, request, "CLI login poll")

    @staticmethod
    def wait_for_cli_login(
        platform_url: str,
        login_request: Mapping[str, Any],
        *,
        timeout_seconds: float | None = None,
        on_poll: LoginCallback | None = None,
    ) -> CliLoginStatus:
        """Poll a CLI login request every ``interval`` seconds until it is approved.

        Args:
            platform_url: The platform the request was created on.
            login_request: The answer of :meth:`create_cli_login_request`.
            timeout_seconds: Give up after this long (default: the request's ``expires_in``).
            on_poll: Called with each poll answer (for progress display).

        Returns:
            The approved status, with ``access_token``, ``org_id`` and ``workspace_id``.

        Raises:
            CLIAuthenticationError: The request expired, was already consumed, or timed out.
        """
        request_id = str(login_request["request_id"])
        interval = max(0.2, float(login_request.get("interval") or 1))
        limit = float(
            timeout_seconds if timeout_seconds is not None else login_request.get("expires_in") or 600
        )
        deadline = time.monotonic() + limit
        while True:
            status = CLIClient.poll_cli_login_request(platform_url, request_id)
            if on_poll is not None:
                on_poll(status)
            state = status.get("status")
            if state == "approved" and status.get("access_token"):
                return status
            if state in ("expired", "consumed", "approved"):
                raise CLIAuthenticationError(
                    f"CLI login request {login_request.get('user_code', request_id)} is {state}: run `flow login` again",
                    code=f"login_{state}",
                )
            if time.monotonic() + interval > deadline:
                raise CLIAuthenticationError(
                    f"CLI login request {login_request.get('user_code', request_id)} was not approved "
                    f"within {limit:g} s",
                    code="login_timeout",
                )
            time.sleep(interval)

    @staticmethod
    def get_current_user_with_token(platform_url: str, access_token: str) -> CurrentUser:
        """Validate a bearer token and return the ``GET /api/v1/auth/me`` payload."""
        return unauthenticated_send(
            platform_url,
            build_get_current_user_request(),
            "Token validation",
            headers={"Authorization": f"Bearer {access_token}"},
        )

    # ------------------------------------------------------------ documented instance methods
    def create_component(self, component_type: str, data: dict[str, Any]) -> Component:
        """POST a new component to the catalog (``POST .../components/{component_type}``)."""
        org_id, workspace_id = self._tenant()
        kind = ComponentTypeNamespace(self, component_type).component_type
        body = checked_body(data, ComponentCreate)
        return self.send_request(build_create_component_request(org_id, workspace_id, kind, body=body))

    def list_orgs(self) -> list[Org]:
        """GET accessible organizations for the current user (``GET /api/v1/tenants/orgs``).

        The platform answers a page at a time; this reads them all. :meth:`iter_orgs` reads them as needed.
        """
        return list(self.iter_orgs(page_size=MAX_PAGE_SIZE))

    def iter_orgs(self, *, page_size: int = 100) -> Iterator[Org]:
        """Every accessible organization, oldest first, fetched a page at a time (``GET /api/v1/tenants/orgs``)."""

        def page(cursor: str | None) -> ApiRequest[list[Org]]:
            return build_list_orgs_request(limit=page_size, cursor=cursor)

        return self._iterate(page)

    def list_workspaces(self, org_id: str) -> list[Workspace]:
        """GET workspaces within an organization (``GET /api/v1/tenants/orgs/{org_id}/workspaces``).

        The platform answers a page at a time; this reads them all. :meth:`iter_workspaces` reads them
        as needed.
        """
        return list(self.iter_workspaces(org_id, page_size=MAX_PAGE_SIZE))

    def iter_workspaces(self, org_id: str, *, page_size: int = 100) -> Iterator[Workspace]:
        """Every workspace of an organization, oldest first, fetched a page at a time
        (``GET /api/v1/tenants/orgs/{org_id}/workspaces``).

        Example::

            for workspace in client.iter_workspaces(org_id):
                print(workspace["id"], workspace["name"])
        """

        def page(cursor: str | None) -> ApiRequest[list[Workspace]]:
            return build_list_workspaces_request(org_id, limit=page_size, cursor=cursor)

        return self._iterate(page)

    def verify_credentials(self) -> bool:
        """Light call to verify that configured credentials work."""
        self.list_orgs()
        return True

    def get_current_user(self) -> CurrentUser:
        """GET current user identity from /api/v1/auth/me."""
        return self.send_request(build_get_current_user_request())

    def execute_ddl(
        self,
        instance_id: str,
        sql: str,
        *,
        confirm: bool = False,
        scope_type: str = "workspace",
        scope_id: str | None = None,
        reason: str | None = None,
    ) -> DdlResult:
        """Preview or execute DDL against a connector instance (``POST .../instances/{id}/execute-ddl``)."""
        try:
            scope: Literal["workspace", "org"] = choose(scope_type, DDL_REQUEST_SCOPE_TYPE, "scope_type")
        except FlowSDKError as exc:
            raise CLIClientError(exc.message, code="invalid_request") from None
        body: DdlRequest = {
            "scope_type": scope,
            "scope_id": scope_id or self._config.workspace_id or None,
            "sql": sql,
            "confirm": confirm,
        }
        if reason:
            body["reason"] = reason
        return self.send_request(build_execute_connector_ddl_request(instance_id, body=body))

    def invoke_service(
        self,
        service_id: str,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        version: int | None = None,
    ) -> AnyValue:
        """Invoke a hosted service endpoint (``/api/v1/orgs/{org}/services/{id}[/v{version}]/{path}``)."""
        try:
            request = service_call_request(
                self._org(), service_id, method, path, body=body, query=query, version=version
            )
        except FlowSDKError as exc:
            raise CLIClientError(exc.message, code="invalid_request") from None
        return send_sync(self._client, request, family="cli", retry=self._service_call_retry)

    # ------------------------------------------------------------ executions
    def submit_execution(
        self,
        component_type: str,
        component_id: str,
        input_data: dict[str, Any] | None = None,
        *,
        ring_id: str | None = None,
        timeout_seconds: int = 300,
        config: dict[str, Any] | None = None,
        lifecycle_event: str = "workflow",
    ) -> ExecutionHandle:
        """Submit a durable execution of a code block, agent or workflow (``POST .../executions``)."""
        org_id, workspace_id = self._tenant()
        ring = ring_id or self._config.ring_id or self._default_ring()
        try:
            item = submission(
                component_type,
                component_id,
                input_data,
                ring_id=ring,
                lifecycle_event=lifecycle_event,
                timeout_seconds=timeout_seconds,
                config=config,
            )
        except FlowSDKError as exc:
            raise CLIClientError(exc.message, code="invalid_request") from None
        return self.send_request(single_request(org_id, workspace_id, item))

    def _default_ring(self) -> str:
        """The workspace's ring named ``dev``, or its only ring; else a clear error."""
        rings = self.rings.list()
        named = [ring for ring in rings if ring.get("name") == "dev"]
        chosen = named or (rings if len(rings) == 1 else [])
        if not chosen:
            raise CLIClientError(
                "no ring given and no single default ring in the workspace: pass ring_id= (--ring) or export RING_ID",
                code="missing_configuration",
            )
        return str(chosen[0]["id"])

    def list_executions(
        self, *, limit: int = 100, offset: int = 0, status: str | None = None
    ) -> list[Execution]:
        """List executions of the workspace, newest first (``GET .../executions``)."""
        org_id, workspace_id = self._tenant()
        try:
            wanted: ExecutionStatusValue | None = None
            if status is not None:
                checked: ExecutionStatusValue = choose(status, EXECUTION_STATUS_VALUE, "status")
                wanted = checked
        except FlowSDKError as exc:
            raise CLIClientError(exc.message, code="invalid_request") from None
        return self.send_request(
            build_list_executions_request(org_id, workspace_id, limit=limit, offset=offset, status=wanted)
        )

    def iter_executions(
        self,
        status: str | None = None,
        *,
        component_type: str | None = None,
        component_id: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Execution]:
        """Every execution of the workspace, newest first, fetched a page at a time (``GET .../executions``).

        ``status``, ``component_type`` and ``component_id`` narrow the list when given.

        Example::

            for execution in client.iter_executions(status="failed"):
                print(execution["execution_id"])
        """
        org_id, workspace_id = self._tenant()
        try:
            pages = list_pages(
                org_id,
                workspace_id,
                status=status,
                component_type=component_type,
                component_id=component_id,
                page_size=page_size,
            )
        except FlowSDKError as exc:
            raise CLIClientError(exc.message, code="invalid_request") from None
        return self._iterate(pages)

    def get_execution(self, execution_id: str) -> Execution:
        """Status of an execution (``GET .../executions/{execution_id}``)."""
        org_id, workspace_id = self._tenant()
        return self.send_request(build_get_execution_request(org_id, workspace_id, execution_id))

    def cancel_execution(self, execution_id: str) -> Execution:
        """Request best-effort cancellation (``POST .../executions/{execution_id}/cancel``)."""
        org_id, workspace_id = self._tenant()
        return self.send_request(build_cancel_execution_request(org_id, workspace_id, execution_id))

    def get_execution_result(self, execution_id: str, *, wait_seconds: float = 0.0) -> ExecutionResult:
        """The result envelope, held up to ``wait_seconds`` by the server (``GET .../result``)."""
        org_id, workspace_id = self._tenant()
        request = build_get_execution_result_request(
            org_id, workspace_id, execution_id, wait_seconds=wait_seconds
        )
        return self.send_request(request)

    def list_execution_events(
        self, execution_id: str, *, after_seq: int = 0, wait_seconds: float = 0.0
    ) -> list[ExecutionEvent]:
        """Events an execution pushed after ``after_seq`` (``GET .../executions/{id}/events``)."""
        org_id, workspace_id = self._tenant()
        request = build_list_execution_events_request(
            org_id, workspace_id, execution_id, after_seq=after_seq, wait_seconds=wait_seconds
        )
        return self.send_request(request)

    def await_execution_result(
        self,
        execution_id: str,
        *,
        timeout_seconds: float = 300,
        poll_interval_seconds: float = 0.5,
        not_found_retry_seconds: float = 30.0,
        max_wait_seconds: float = 25.0,
        on_status: StatusCallback | None = None,
    ) -> ExecutionResult:
        """Wait for a terminal status via ``GET .../result?wait_seconds=N`` and return the envelope.

        Args:
            execution_id: The execution.
            timeout_seconds: Give up after this long.
            poll_interval_seconds: First pause after an early non-terminal answer (grows to 5 s).
            not_found_retry_seconds: Keep retrying a 404 this long (a fresh execution may lag).
            max_wait_seconds: Longest server-side hold per request (kept below the client timeout).
            on_status: Called with every envelope seen (for a live status display).

        Returns:
            The terminal envelope (completed, failed, timeout or cancelled); see ``unwrap_result``.

        Raises:
            ExecutionTimeoutError: Not terminal within ``timeout_seconds``.
        """
        settings = PollSettings(
            timeout_seconds=timeout_seconds,
            poll_interval_seconds=poll_interval_seconds,
            not_found_retry_seconds=not_found_retry_seconds,
            max_wait_seconds=min(max_wait_seconds, CLIENT_TIMEOUT_SECONDS - 5.0),
        )

        def fetch(wait_seconds: float) -> ExecutionResult:
            return self.get_execution_result(execution_id, wait_seconds=wait_seconds)

        return await_terminal_sync(fetch, execution_id, settings, on_status)
