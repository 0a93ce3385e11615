"""CLIClient: the synchronous client for scripts and the ``flow`` command, backed by :class:`FlowConfig`.

Requests are built by the generated endpoint modules (``flow_platform_client.api.<tag>.<op>._get_kwargs``)
and sent through the sync client of :mod:`flow_sdk._transport` (retries, auth header, timeouts), wrapped in
:class:`_SafeSyncClient` so that no error, ``repr`` or log line ever shows the token.

Example:
    >>> client = CLIClient(FlowConfig.load())
    >>> client.list_orgs()
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, cast

import httpx

from flow_sdk._errors import (
    CLIAuthenticationError,
    CLIClientError,
    FlowSDKError,
    error_from_response,
    error_from_transport,
)
from flow_sdk._polling import PollPlan, PollSettings
from flow_sdk._requests import body_model, endpoint, parse_response
from flow_sdk._transport import BearerAuth, build_sync_client
from flow_sdk.cli.client_namespaces import (
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

__all__ = ["CLIAuthenticationError", "CLIClient", "CLIClientError", "FlowConfig"]

CLIENT_TIMEOUT_SECONDS = 30.0
STATIC_TIMEOUT_SECONDS = 15.0
SERVICE_METHODS = frozenset({"GET", "POST", "PUT", "DELETE"})
StatusCallback = Callable[[dict[str, Any]], None]


class _SafeSyncClient:
    """An ``httpx.Client`` whose failures become typed :class:`CLIClientError` without the token.

    Transport failures (refused connection, timeout) raise :class:`CLIClientError` with
    ``code="transport_error"``; HTTP answers are returned for :meth:`CLIClient._handle_response`.
    """

    def __init__(self, raw_client: httpx.Client) -> None:
        self._raw = raw_client

    def __repr__(self) -> str:
        return f"_SafeSyncClient(base_url={str(self._raw.base_url)!r})"

    @property
    def base_url(self) -> str:
        """The platform URL requests go to."""
        return str(self._raw.base_url)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send a request; transport failures raise :class:`CLIClientError` (``from`` the original)."""
        try:
            return self._raw.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise error_from_transport(exc, "cli") from exc

    def send(self, kwargs: Mapping[str, Any]) -> httpx.Response:
        """Send a request described by a generated ``_get_kwargs`` dict."""
        options = dict(kwargs)
        return self.request(str(options.pop("method")).upper(), str(options.pop("url")), **options)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET ``url``."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST ``url``."""
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        """PUT ``url``."""
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        """DELETE ``url``."""
        return self.request("DELETE", url, **kwargs)

    def set_token(self, token: str) -> None:
        """Replace the bearer token in place."""
        auth = self._raw.auth
        if isinstance(auth, BearerAuth):
            auth.token = token

    def close(self) -> None:
        """Close the pooled connections."""
        self._raw.close()


def _handle(response: httpx.Response, *, prefix: str = "", auth_family: bool = False) -> Any:
    """Return the parsed body of a success, or raise the typed CLI error for a 4xx/5xx answer."""
    if response.status_code < 400:
        return parse_response(response)
    error = error_from_response(response, "cli")
    if prefix:
        error.message = f"{prefix} ({response.status_code}): {error.detail}"
        error.args = (error.message,)
    if auth_family and not isinstance(error, CLIAuthenticationError):
        error = _as_auth_error(error)
    raise error from httpx.HTTPStatusError(error.message, request=response.request, response=response)


def _as_auth_error(error: FlowSDKError) -> CLIAuthenticationError:
    return CLIAuthenticationError(
        error.message,
        status_code=error.status_code,
        detail=error.detail,
        code=error.code,
        request_id=error.request_id,
        method=error.method,
        path=error.path,
    )


def _unauthenticated_send(platform_url: str, kwargs: Mapping[str, Any], what: str) -> httpx.Response:
    """Send one request without a token (login, key exchange); transport failures name ``what``."""
    if not platform_url:
        raise CLIClientError(f"{what} failed: no platform URL given", code="missing_configuration")
    with build_sync_client(
        platform_url, BearerAuth(""), timeout=STATIC_TIMEOUT_SECONDS, max_retries=1
    ) as raw:
        return _SafeSyncClient(raw).send(kwargs)


class CLIClient:
    """Synchronous HTTP client backed by :class:`FlowConfig` credentials."""

    def __init__(self, config: FlowConfig) -> None:
        self._config = config
        refresher = config.refresh_access_token if config.api_key else None
        raw_client = build_sync_client(
            config.platform_url or "http://127.0.0.1:8080",
            BearerAuth(config.access_token, refresher),
            timeout=CLIENT_TIMEOUT_SECONDS,
        )
        self._client = _SafeSyncClient(raw_client)

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

    def __repr__(self) -> str:
        return f"CLIClient(platform_url={self._config.platform_url!r}, org_id={self._config.org_id!r})"

    def __enter__(self) -> CLIClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()

    @property
    def config(self) -> FlowConfig:
        """The configuration this client was built from."""
        return self._config

    # ------------------------------------------------------------ sending
    def _handle_response(self, resp: httpx.Response) -> Any:
        """Return parsed JSON (None for 204), or raise :class:`CLIClientError` / :class:`CLIAuthenticationError`."""
        return _handle(resp)

    def _call(self, tag: str, operation: str, *args: Any, **kwargs: Any) -> Any:
        """Build a request with the generated ``<tag>.<operation>._get_kwargs`` and send it."""
        return self._handle_response(self._client.send(endpoint(tag, operation)._get_kwargs(*args, **kwargs)))

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
        body = body_model("TokenRequest", {"api_key": api_key, "ttl_minutes": ttl_minutes})
        request = endpoint("auth", "exchange_api_key")._get_kwargs(body=body)
        try:
            response = _unauthenticated_send(platform_url, request, "API key exchange")
        except CLIClientError as exc:
            error = _as_auth_error(exc)
            error.message = f"API key exchange failed: {exc.detail}"
            error.args = (error.message,)
            raise error from exc
        payload = _handle(response, prefix="API key exchange failed", auth_family=True)
        return str(payload["access_token"])

    @staticmethod
    def create_cli_login_request(platform_url: str) -> dict:  # type: ignore[type-arg]
        """Create a request-bound CLI login request (unauthenticated; ``POST /api/v1/auth/cli-login-requests``)."""
        request = endpoint("auth", "create_cli_login_request")._get_kwargs()
        response = _unauthenticated_send(platform_url, request, "CLI login request")
        return cast(dict[str, Any], _handle(response, prefix="CLI login request failed"))

    @staticmethod
    def poll_cli_login_request(platform_url: str, request_id: str) -> dict[str, Any]:
        """Poll a CLI login request once (``GET /api/v1/auth/cli-login-requests/{request_id}``)."""
        request = endpoint("auth", "poll_cli_login_request")._get_kwargs(request_id)
        response = _unauthenticated_send(platform_url, request, "CLI login poll")
        return cast(dict[str, Any], _handle(response, prefix="CLI login poll failed"))

    @staticmethod
    def wait_for_cli_login(
        platform_url: str,
        login_request: Mapping[str, Any],
        *,
        timeout_seconds: float | None = None,
        on_poll: StatusCallback | None = None,
    ) -> dict[str, Any]:
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
    def get_current_user_with_token(platform_url: str, access_token: str) -> dict:  # type: ignore[type-arg]
        """Validate a bearer token and return the ``GET /api/v1/auth/me`` payload."""
        request = endpoint("auth", "get_current_user")._get_kwargs()
        request["headers"] = {**(request.get("headers") or {}), "Authorization": f"Bearer {access_token}"}
        response = _unauthenticated_send(platform_url, request, "Token validation")
        if response.status_code == 401:
            _handle(response, prefix="Token validation failed", auth_family=True)
        return cast(dict[str, Any], _handle(response, prefix="Token validation failed"))

    # ------------------------------------------------------------ documented instance methods
    def create_component(self, component_type: str, data: dict) -> dict:  # type: ignore[type-arg]
        """POST a new component to the catalog (``POST .../components/{component_type}``)."""
        org_id, workspace_id = self._tenant()
        body = body_model("ComponentCreate", data)
        return cast(
            dict[str, Any],
            self._call("catalog", "create_component", org_id, workspace_id, component_type, body=body),
        )

    def list_orgs(self) -> list[dict]:  # type: ignore[type-arg]
        """GET accessible organizations for the current user (``GET /api/v1/tenants/orgs``)."""
        return cast(list[dict[str, Any]], self._call("tenants", "list_orgs"))

    def list_workspaces(self, org_id: str) -> list[dict]:  # type: ignore[type-arg]
        """GET workspaces within an organization (``GET /api/v1/tenants/orgs/{org_id}/workspaces``)."""
        return cast(list[dict[str, Any]], self._call("tenants", "list_workspaces", org_id))

    def verify_credentials(self) -> bool:
        """Light call to verify that configured credentials work."""
        self.list_orgs()
        return True

    def get_current_user(self) -> dict:  # type: ignore[type-arg]
        """GET current user identity from /api/v1/auth/me."""
        return cast(dict[str, Any], self._call("auth", "get_current_user"))

    def execute_ddl(
        self,
        instance_id: str,
        sql: str,
        *,
        confirm: bool = False,
        scope_type: str = "workspace",
        scope_id: str | None = None,
        reason: str | None = None,
    ) -> dict:  # type: ignore[type-arg]
        """Preview or execute DDL against a connector instance (``POST .../instances/{id}/execute-ddl``)."""
        body: dict[str, Any] = {
            "scope_type": scope_type,
            "scope_id": scope_id or self._config.workspace_id,
            "sql": sql,
            "confirm": confirm,
        }
        if reason:
            body["reason"] = reason
        request = body_model("DdlRequest", body)
        return cast(
            dict[str, Any], self._call("connectors", "execute_connector_ddl", instance_id, body=request)
        )

    def invoke_service(
        self,
        service_id: str,
        method: str,
        path: str,
        *,
        body: dict | None = None,  # type: ignore[type-arg]
        query: dict | None = None,  # type: ignore[type-arg]
        version: int | None = None,
    ) -> dict | list:  # type: ignore[type-arg]
        """Invoke an HSL service endpoint (``/api/v1/orgs/{org}/services/{id}[/v{version}]/{path}``)."""
        verb = method.upper()
        if verb not in SERVICE_METHODS:
            raise CLIClientError(
                f"method must be one of {', '.join(sorted(SERVICE_METHODS))}, got {method!r}"
            )
        if version is not None and version < 1:
            raise CLIClientError(f"version must be >= 1, got {version}")
        operation = f"invoke_service_{'version_' if version is not None else ''}{verb.lower()}"
        args: list[Any] = [self._org(), service_id]
        if version is not None:
            args.append(version)
        args.append(path.lstrip("/"))
        request = endpoint("services", operation)._get_kwargs(*args)
        if body is not None:
            request["json"] = body
        if query:
            request["params"] = dict(query)
        return cast("dict[str, Any] | list[Any]", self._handle_response(self._client.send(request)))

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
    ) -> dict[str, Any]:
        """Submit a durable execution of a code block, agent or workflow (``POST .../executions``)."""
        org_id, workspace_id = self._tenant()
        ring = ring_id or self._config.ring_id or self._default_ring()
        body = body_model(
            "ExecutionSubmit",
            {
                "component_type": component_type,
                "component_id": component_id,
                "input": dict(input_data or {}),
                "ring_id": ring,
                "timeout_seconds": timeout_seconds,
                "config": config,
                "lifecycle_event": lifecycle_event,
                "execution_mode": "isolated" if component_type == "agent" else None,
            },
        )
        return cast(
            dict[str, Any], self._call("executions", "submit_execution", org_id, workspace_id, body=body)
        )

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
    ) -> list[dict[str, Any]]:
        """List executions of the workspace, newest first (``GET .../executions``)."""
        org_id, workspace_id = self._tenant()
        options: dict[str, Any] = {"limit": limit, "offset": offset}
        if status is not None:
            options["status"] = status
        return cast(
            list[dict[str, Any]], self._call("executions", "list_executions", org_id, workspace_id, **options)
        )

    def get_execution(self, execution_id: str) -> dict[str, Any]:
        """Status of an execution (``GET .../executions/{execution_id}``)."""
        org_id, workspace_id = self._tenant()
        return cast(
            dict[str, Any], self._call("executions", "get_execution", org_id, workspace_id, execution_id)
        )

    def cancel_execution(self, execution_id: str) -> dict[str, Any]:
        """Request best-effort cancellation (``POST .../executions/{execution_id}/cancel``)."""
        org_id, workspace_id = self._tenant()
        return cast(
            dict[str, Any], self._call("executions", "cancel_execution", org_id, workspace_id, execution_id)
        )

    def get_execution_result(self, execution_id: str, *, wait_seconds: float = 0.0) -> dict[str, Any]:
        """The result envelope, held up to ``wait_seconds`` by the server (``GET .../result``)."""
        org_id, workspace_id = self._tenant()
        return cast(
            dict[str, Any],
            self._call(
                "executions",
                "get_execution_result",
                org_id,
                workspace_id,
                execution_id,
                wait_seconds=wait_seconds,
            ),
        )

    def list_execution_events(
        self, execution_id: str, *, after_seq: int = 0, wait_seconds: float = 0.0
    ) -> list[dict[str, Any]]:
        """Events an execution pushed after ``after_seq`` (``GET .../executions/{id}/events``)."""
        org_id, workspace_id = self._tenant()
        return cast(
            list[dict[str, Any]],
            self._call(
                "executions",
                "list_execution_events",
                org_id,
                workspace_id,
                execution_id,
                after_seq=after_seq,
                wait_seconds=wait_seconds,
            ),
        )

    def await_execution_result(
        self,
        execution_id: str,
        *,
        timeout_seconds: float = 300,
        poll_interval_seconds: float = 0.5,
        not_found_retry_seconds: float = 30.0,
        max_wait_seconds: float = 25.0,
        on_status: StatusCallback | None = None,
    ) -> dict[str, Any]:
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
        plan = PollPlan(execution_id, settings)
        while True:
            wait = plan.next_wait()
            try:
                envelope = self.get_execution_result(execution_id, wait_seconds=wait)
            except CLIClientError as exc:
                pause = plan.not_found() if exc.status_code == 404 else None
                if pause is None:
                    raise
            else:
                if on_status is not None:
                    on_status(envelope)
                pause = plan.answered(envelope)
                if pause is None:
                    return envelope
            if pause:
                time.sleep(pause)
