"""PlatformClient: the low-level async client of the platform API and the execution primitives."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, TypeVar
from uuid import UUID

import httpx

from flow_sdk._errors import (
    ConfigurationError,
    PlatformAuthenticationError,
    PlatformClientError,
    PlatformExecutionError,
    PlatformNotFoundError,
    PlatformPermissionError,
)
from flow_sdk._executions import batch_request, list_pages, single_request, submission
from flow_sdk._generated.client.executions import (
    build_await_execution_results_request,
    build_cancel_execution_request,
    build_execute_transform_request,
    build_get_execution_request,
    build_get_execution_result_request,
)
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.client.services import build_get_service_skills_request
from flow_sdk._generated.types import (
    Execution,
    ExecutionHandle,
    ExecutionResult,
    ExecutionResults,
    ExecutionResultsWait,
    ExecutionSubmission,
    ExecutionSubmissionResults,
    ServiceSkills,
    TransformExecute,
    TransformResult,
)
from flow_sdk._nats import ExecutionTransport
from flow_sdk._pages import iterate_pages
from flow_sdk._polling import PollSettings, await_terminal, unwrap_result
from flow_sdk._requests import RECORDED_RESPONSES, RetryMode, send
from flow_sdk._result_waiter import ResultWaiter
from flow_sdk._submit_batcher import SubmitBatcher
from flow_sdk._transport import AsyncHttpSession, TokenRefresher, resolve_timeout
from flow_sdk.raw_response import RawResponseView

__all__ = [
    "PlatformAuthenticationError",
    "PlatformClient",
    "PlatformClientError",
    "PlatformExecutionError",
    "PlatformNotFoundError",
    "PlatformPermissionError",
]

_GRACE_SECONDS = 30.0
ResultT = TypeVar("ResultT")


class PlatformClient:
    """Client for calling platform APIs from workflow containers and runners.

    Attributes:
        base_url: Platform API base URL.
        org_id: Organization ID (ORG_ID), used by workspace-scoped calls.
        workspace_id: Workspace ID (WORKSPACE_ID), used by workspace-scoped calls.
        timeout: Request timeout in seconds.
    """

    def __init__(
        self,
        base_url: str | None = None,
        auth_token: str | None = None,
        org_id: str | None = None,
        workspace_id: str | None = None,
        timeout: float | None = None,
        on_auth_token_refresh: TokenRefresher | None = None,
    ) -> None:
        """Initialize the client from arguments, falling back to the environment.

        Args:
            base_url: Platform API base URL (defaults to PLATFORM_API_URL).
            auth_token: JWT token (defaults to AUTH_TOKEN).
            org_id: Organization ID (defaults to ORG_ID).
            workspace_id: Workspace ID (defaults to WORKSPACE_ID).
            timeout: Request timeout in seconds (default: FLOW_HTTP_TIMEOUT_SECONDS or 300).
            on_auth_token_refresh: Called (sync or async, no arguments) for a new token after a 401;
                the request is then retried once.

        Raises:
            ConfigurationError: (a ValueError) base_url or auth_token is neither passed nor in the environment.
        """
        resolved_url = base_url or os.environ.get("PLATFORM_API_URL", "")
        if not resolved_url:
            raise ConfigurationError.missing("PLATFORM_API_URL", "base_url")
        token = auth_token or os.environ.get("AUTH_TOKEN", "")
        if not token:
            raise ConfigurationError.missing("AUTH_TOKEN", "auth_token")
        self.base_url = resolved_url.rstrip("/")
        self.org_id = str(org_id or os.environ.get("ORG_ID", ""))
        self.workspace_id = str(workspace_id or os.environ.get("WORKSPACE_ID", ""))
        self.timeout = resolve_timeout(timeout)
        self._session = AsyncHttpSession(token, timeout=self.timeout, refresher=on_auth_token_refresh)
        self._owns_session = True
        self._execution_transport: ExecutionTransport | None = None
        self._waiters: dict[asyncio.AbstractEventLoop, ResultWaiter] = {}
        self._batchers: dict[asyncio.AbstractEventLoop, SubmitBatcher] = {}

    @property
    def with_raw_response(self) -> RawResponseView:
        """The same calls, each returning a ``RawResponse``: status, headers and request id with the result."""
        return RawResponseView(self)

    def __repr__(self) -> str:
        return f"PlatformClient(base_url={self.base_url!r}, org_id={self.org_id!r}, workspace_id={self.workspace_id!r})"

    @property
    def auth_token(self) -> str:
        """The current JWT (replaced in place by a refresh)."""
        return self._session.auth.token

    @auth_token.setter
    def auth_token(self, value: str) -> None:
        self._session.set_token(value)

    @property
    def client(self) -> httpx.AsyncClient:
        """The pooled async HTTP client (created on first use)."""
        return self._session.client(self.base_url)

    async def __aenter__(self) -> PlatformClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP connections and the NATS connection, if any."""
        if self._owns_session:
            await self._session.aclose()
        if self._execution_transport is not None:
            await self._execution_transport.close()
            self._execution_transport = None

    async def _request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json: Any | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send a request to a path the document does not describe and return its parsed body.

        Returns:
            Parsed JSON for a JSON answer, None for an empty one, and raw bytes otherwise.

        Raises:
            PlatformClientError: The mapped error for a 4xx/5xx answer or a transport failure.
        """
        request: ApiRequest[Any] = ApiRequest(
            "", method.upper(), path, params=params, headers=headers, content=content
        )
        if json is not None:
            request.json, request.has_json = json, True
        return await self.send_request(request)

    async def send_request(
        self,
        request: ApiRequest[ResultT],
        *,
        extra_headers: Mapping[str, str] | None = None,
        retry: RetryMode | None = None,
    ) -> ResultT:
        """Send a request built by a generated builder and return its typed result.

        Example:
            >>> from flow_sdk._generated.client.executions import build_list_executions_request
            >>> await client.send_request(build_list_executions_request(org_id, workspace_id, limit=5))

        Raises:
            PlatformClientError: The mapped error for a 4xx/5xx answer or a transport failure.
        """
        return await send(self.client, request, extra_headers=extra_headers, retry=retry)

    def _workspace(self) -> tuple[str, str]:
        if not self.org_id:
            raise ConfigurationError.missing("ORG_ID", "org_id")
        if not self.workspace_id:
            raise ConfigurationError.missing("WORKSPACE_ID", "workspace_id")
        return self.org_id, self.workspace_id

    def _org(self) -> str:
        if not self.org_id:
            raise ConfigurationError.missing("ORG_ID", "org_id")
        return self.org_id

    @staticmethod
    def _ring(ring_id: str | UUID | None) -> str:
        ring = str(ring_id or os.environ.get("RING_ID", ""))
        if not ring:
            raise ConfigurationError.missing("RING_ID", "ring_id")
        return ring

    async def _submit(
        self,
        component_type: str,
        component_id: str | UUID,
        input_data: dict[str, Any],
        *,
        ring_id: str | UUID | None,
        timeout_seconds: int | None,
        lifecycle_event: str,
        config: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        caller_deployment_id: str | UUID | None = None,
        execution_mode: str | None = None,
    ) -> ExecutionHandle:
        """Submit a durable execution (``POST .../executions``) with a fresh Idempotency-Key.

        Submissions made while others are under way go together in one request (``POST
        .../execution-submissions``, see :mod:`flow_sdk._submit_batcher`), except those of a
        ``with_raw_response`` call or of a client with a caller-chosen idempotency key.
        """
        org_id, workspace_id = self._workspace()
        item = submission(
            component_type,
            component_id,
            input_data,
            ring_id=self._ring(ring_id),
            lifecycle_event=lifecycle_event,
            timeout_seconds=timeout_seconds,
            config=config,
            context=context,
            caller_deployment_id=caller_deployment_id,
            execution_mode=execution_mode,
        )
        if RECORDED_RESPONSES.get() is not None or self._session.idempotency_key is not None:
            return await self.send_request(single_request(org_id, workspace_id, item))
        return await self._submit_batcher().submit(item)

    def _submit_batcher(self) -> SubmitBatcher:
        """This client's batcher of submissions in the running event loop."""
        loop = asyncio.get_running_loop()
        batcher = self._batchers.get(loop)
        if batcher is None:
            self._batchers = {known: b for known, b in self._batchers.items() if not known.is_closed()}
            batcher = self._batchers[loop] = SubmitBatcher(self._send_submission, self._send_submissions)
        return batcher

    async def _send_submission(self, item: ExecutionSubmission) -> ExecutionHandle:
        org_id, workspace_id = self._workspace()
        return await self.send_request(single_request(org_id, workspace_id, item))

    async def _send_submissions(
        self, items: list[ExecutionSubmission]
    ) -> tuple[ExecutionSubmissionResults, str]:
        org_id, workspace_id = self._workspace()
        request = batch_request(org_id, workspace_id, items)
        return await self.send_request(request, retry="resend"), f"{request.method} {request.path}"

    async def get_service_skills(
        self, service_id: str | UUID, *, version: int | None = None
    ) -> ServiceSkills:
        """Fetch the skills document generated for a hosted service version (``GET .../service-skills/{id}``)."""
        return await self.send_request(
            build_get_service_skills_request(self._org(), str(service_id), version=version)
        )

    async def execute_code_block(
        self,
        code_block_id: str | UUID,
        input_parameters: dict[str, Any],
        context: dict[str, Any],
        scope: str = "workspace",
        lifecycle_event: str = "workflow",
        timeout_seconds: int = 300,
        caller_deployment_id: str | UUID | None = None,
        ring_id: str | UUID | None = None,
    ) -> ExecutionResult:
        """Execute a code block and wait for its result envelope (submit, then poll).

        Raises:
            PlatformExecutionError: The execution failed; carries the remote message and traceback.
            ExecutionTimeoutError: It did not finish in time.
        """
        handle = await self._submit(
            "code_block",
            code_block_id,
            input_parameters,
            ring_id=ring_id,
            timeout_seconds=timeout_seconds,
            lifecycle_event=lifecycle_event,
            config={"scope": scope},
            context=context,
            caller_deployment_id=caller_deployment_id,
        )
        return await self._await_handle(handle, timeout_seconds)

    async def submit_code_block_execution(
        self,
        code_block_id: str | UUID,
        input_parameters: dict[str, Any],
        config: dict[str, Any] | None = None,
        lifecycle_event: str = "workflow",
        ring_id: str | UUID | None = None,
        timeout_seconds: int = 300,
    ) -> ExecutionHandle:
        """Submit a durable code block execution and return its handle (``POST .../executions``)."""
        return await self._submit(
            "code_block",
            code_block_id,
            input_parameters,
            ring_id=ring_id,
            timeout_seconds=timeout_seconds,
            lifecycle_event=lifecycle_event,
            config=config,
        )

    async def execute_agent(
        self,
        agent_id: str | UUID,
        input_data: dict[str, Any],
        context: dict[str, Any],
        execution_mode: str = "inline",
        caller_deployment_id: str | UUID | None = None,
        ring_id: str | UUID | None = None,
        timeout_seconds: int = 300,
    ) -> ExecutionResult:
        """Execute an agent and wait for its result envelope (output, usage and messages).

        Raises:
            PlatformClientError: The execution failed or did not finish in time.
        """
        handle = await self._submit(
            "agent",
            agent_id,
            input_data,
            ring_id=ring_id,
            timeout_seconds=timeout_seconds,
            lifecycle_event="agent_run",
            context=context,
            caller_deployment_id=caller_deployment_id,
            execution_mode=execution_mode,
        )
        return await self._await_handle(handle, timeout_seconds)

    async def execute_transform(
        self,
        transform_id: str | UUID,
        input_data: Any,
        context: dict[str, Any],
        caller_deployment_id: str | UUID | None = None,
    ) -> TransformResult:
        """Execute a transform synchronously (``POST .../transforms/{id}/execute``) and return its result."""
        org_id, workspace_id = self._workspace()
        body: TransformExecute = {"input_data": input_data, "context": context}
        if caller_deployment_id is not None:
            body["caller_deployment_id"] = str(caller_deployment_id)
        result = await self.send_request(
            build_execute_transform_request(org_id, workspace_id, str(transform_id), body=body)
        )
        return result

    async def execute_workflow(
        self,
        workflow_id: str | UUID,
        input_data: dict[str, Any],
        context: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
        auto_deploy: bool = True,
        lifecycle_event: str = "workflow",
        caller_deployment_id: str | UUID | None = None,
        ring_id: str | UUID | None = None,
        timeout_seconds: int | None = None,
    ) -> ExecutionResult:
        """Execute a workflow and wait for its result envelope (outputs, step results and errors).

        Raises:
            PlatformClientError: The execution failed or did not finish in time.
        """
        handle = await self._submit(
            "workflow",
            workflow_id,
            input_data,
            ring_id=ring_id,
            timeout_seconds=timeout_seconds,
            lifecycle_event=lifecycle_event,
            config={**(config or {}), "auto_deploy": auto_deploy},
            context=context,
            caller_deployment_id=caller_deployment_id,
        )
        return await self._await_handle(handle, timeout_seconds or 300)

    async def submit_workflow_execution(
        self,
        workflow_id: str | UUID,
        input_data: dict[str, Any],
        config: dict[str, Any] | None = None,
        lifecycle_event: str = "workflow",
        ring_id: str | UUID | None = None,
        timeout_seconds: int = 300,
    ) -> ExecutionHandle:
        """Submit a durable workflow execution and return its handle (``POST .../executions``)."""
        return await self._submit(
            "workflow",
            workflow_id,
            input_data,
            ring_id=ring_id,
            timeout_seconds=timeout_seconds,
            lifecycle_event=lifecycle_event,
            config=config,
        )

    async def submit_agent_execution(
        self,
        agent_id: str | UUID,
        input_data: dict[str, Any],
        config: dict[str, Any] | None = None,
        lifecycle_event: str = "agent_run",
        ring_id: str | UUID | None = None,
        timeout_seconds: int = 300,
    ) -> ExecutionHandle:
        """Submit a durable isolated-agent execution and return its handle (``POST .../executions``)."""
        return await self._submit(
            "agent",
            agent_id,
            input_data,
            ring_id=ring_id,
            timeout_seconds=timeout_seconds,
            lifecycle_event=lifecycle_event,
            config=config,
        )

    async def get_execution_status(self, execution_id: str | UUID) -> Execution:
        """Fetch durable execution status (``GET .../executions/{id}``)."""
        org_id, workspace_id = self._workspace()
        return await self.send_request(build_get_execution_request(org_id, workspace_id, str(execution_id)))

    def iter_executions(
        self,
        status: str | None = None,
        *,
        component_type: str | None = None,
        component_id: str | UUID | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Execution]:
        """Every execution of the workspace, newest first, fetched a page at a time (``GET .../executions``).

        Args:
            status: Only executions in this status (``pending``, ``running``, ``completed``, ...).
            component_type: Only executions of components of this type (``code_block``, ``agent``, ...).
            component_id: Only executions of this component.
            page_size: Executions per request.

        Example::

            async for execution in client.iter_executions(status="failed"):
                print(execution["execution_id"])
        """
        org_id, workspace_id = self._workspace()
        pages = list_pages(
            org_id,
            workspace_id,
            status=status,
            component_type=component_type,
            component_id=component_id,
            page_size=page_size,
        )
        return iterate_pages(lambda: self.client, pages)

    async def cancel_execution(self, execution_id: str | UUID) -> Execution:
        """Request best-effort cancellation of an execution (``POST .../executions/{id}/cancel``)."""
        org_id, workspace_id = self._workspace()
        return await self.send_request(
            build_cancel_execution_request(org_id, workspace_id, str(execution_id))
        )

    async def get_execution_result(
        self, execution_id: str | UUID, *, wait_seconds: float = 0.0
    ) -> ExecutionResult:
        """Fetch the result envelope, letting the server hold up to ``wait_seconds`` for a terminal state."""
        org_id, workspace_id = self._workspace()
        request = build_get_execution_result_request(
            org_id, workspace_id, str(execution_id), wait_seconds=wait_seconds
        )
        return await self.send_request(request)

    async def await_execution_result(
        self,
        execution_id: str | UUID,
        *,
        timeout_seconds: float = 300,
        poll_interval_seconds: float = 0.5,
        not_found_retry_seconds: float = 30.0,
    ) -> ExecutionResult:
        """Poll durable execution state until terminal and return the result envelope.

        Raises:
            PlatformExecutionError: The execution failed or was cancelled (remote message and traceback).
            ExecutionTimeoutError: No terminal state within ``timeout_seconds``; carries the last status.
        """
        settings = self._poll_settings(timeout_seconds, poll_interval_seconds, not_found_retry_seconds)
        envelope = await self._await_terminal(str(execution_id), settings)
        return unwrap_result(envelope)

    def _poll_settings(
        self, timeout_seconds: float, poll_interval_seconds: float, not_found_retry_seconds: float
    ) -> PollSettings:
        """Polling settings whose server-side hold stays below this client's request timeout."""
        return PollSettings(
            timeout_seconds=timeout_seconds,
            poll_interval_seconds=poll_interval_seconds,
            not_found_retry_seconds=not_found_retry_seconds,
            max_wait_seconds=max(0.0, min(30.0, self.timeout - 5.0)),
        )

    async def _await_terminal(self, execution_id: str, settings: PollSettings) -> ExecutionResult:
        waiter = self._result_waiter()

        async def fetch(wait_seconds: float) -> ExecutionResult:
            envelope = await waiter.fetch(execution_id, wait_seconds)
            if envelope is None:  # still running after the wait: read where it stands
                return await self.get_execution_result(execution_id)
            return envelope

        return await await_terminal(fetch, execution_id, settings)

    def _result_waiter(self) -> ResultWaiter:
        """This client's waiter in the running event loop (one held request for every awaited result)."""
        loop = asyncio.get_running_loop()
        waiter = self._waiters.get(loop)
        if waiter is None:
            self._waiters = {known: w for known, w in self._waiters.items() if not known.is_closed()}
            waiter = self._waiters[loop] = ResultWaiter(
                self._send_wait, max(0.0, min(30.0, self.timeout - 5.0))
            )
        return waiter

    async def _send_wait(self, execution_ids: list[str], wait_seconds: float) -> ExecutionResults:
        """``POST .../execution-results``: the terminal envelopes among ``execution_ids``, held."""
        org_id, workspace_id = self._workspace()
        body: ExecutionResultsWait = {"execution_ids": execution_ids, "wait_seconds": wait_seconds}
        return await self.send_request(build_await_execution_results_request(org_id, workspace_id, body=body))

    async def _await_handle(self, handle: ExecutionHandle, timeout_seconds: float) -> ExecutionResult:
        return await self.await_execution_result(
            handle["execution_id"], timeout_seconds=timeout_seconds + _GRACE_SECONDS
        )

    def _transport(self) -> ExecutionTransport:
        if self._execution_transport is None:
            self._execution_transport = ExecutionTransport()
        return self._execution_transport

    async def fetch_execution_input(
        self, deployment_id: str | UUID | None, execution_id: str | UUID
    ) -> dict[str, Any]:
        """Fetch input data for pull-based execution via NATS (``exec.input.{execution_id}``).

        Returns:
            The input message: input_data, session_id, messages, state, config and context.
        """
        return await self._transport().fetch_input(
            None if deployment_id is None else str(deployment_id), str(execution_id)
        )

    async def push_execution_output(
        self,
        deployment_id: str | UUID | None,
        execution_id: str | UUID,
        output: Any,
        usage: dict[str, Any] | None = None,
        messages: list[dict[str, Any]] | None = None,
        state: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Push execution output back to the platform via NATS (``exec.output.{execution_id}``)."""
        await self._transport().push_output(
            None if deployment_id is None else str(deployment_id),
            str(execution_id),
            output,
            usage=usage,
            messages=messages,
            state=state,
            error=error,
        )

    async def push_execution_event(
        self,
        deployment_id: str | UUID | None,
        execution_id: str | UUID,
        event_type: str,
        event_data: dict[str, Any],
    ) -> None:
        """Push a streaming event during execution via NATS (``exec.events.{execution_id}``)."""
        await self._transport().push_event(
            None if deployment_id is None else str(deployment_id), str(execution_id), event_type, event_data
        )

    async def publish_execution_status(self, execution_id: str | UUID, status: str) -> None:
        """Publish execution status via NATS (``exec.status.{execution_id}``)."""
        await self._transport().publish_status(str(execution_id), status)
