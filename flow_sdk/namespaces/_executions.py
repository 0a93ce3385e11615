"""Shared behaviour of the durable execution namespaces (code blocks, agents, workflows)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any, Literal, overload
from uuid import UUID

from flow_sdk._errors import FlowSDKError
from flow_sdk._executions import list_pages
from flow_sdk._generated.types import Execution, ExecutionHandle, ExecutionResult
from flow_sdk._polling import ResultMode, unwrap_result
from flow_sdk.namespaces._base import Namespace

__all__ = ["ExecutionNamespace"]


class ExecutionNamespace(Namespace):
    """Submit, inspect, await and cancel durable executions of one component type.

    A submission inherits the caller's ``LIFECYCLE_EVENT`` (billing discount propagation: a code block
    run during a ``test`` is billed as a test), else uses the namespace's own lifecycle event.
    """

    component_type = ""
    lifecycle_event = "workflow"

    async def _submit_component(
        self,
        component_id: str | UUID,
        input_data: dict[str, Any] | None,
        *,
        ring_id: str | UUID | None,
        timeout_seconds: int,
        config: dict[str, Any] | None,
    ) -> ExecutionHandle:
        platform = self._flow._platform()
        return await platform._submit(
            self.component_type,
            component_id,
            dict(input_data or {}),
            ring_id=self._flow._ring(ring_id),
            timeout_seconds=timeout_seconds,
            lifecycle_event=os.environ.get("LIFECYCLE_EVENT") or self.lifecycle_event,
            config=config,
        )

    async def get_status(self, execution_id: str | UUID) -> Execution:
        """Check execution status (``GET .../executions/{execution_id}``)."""
        return await self._flow._platform().get_execution_status(execution_id)

    async def cancel(self, execution_id: str | UUID) -> Execution:
        """Request best-effort cancellation (``POST .../executions/{execution_id}/cancel``)."""
        return await self._flow._platform().cancel_execution(execution_id)

    def iter_executions(
        self,
        status: str | None = None,
        *,
        component_id: str | UUID | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Execution]:
        """Executions of this component type in the workspace, newest first, fetched a page at a time
        (``GET .../executions``).

        Args:
            status: Only executions in this status (``pending``, ``running``, ``completed``, ...).
            component_id: Only executions of this component.
            page_size: Executions per request.

        Example::

            async for execution in flow.code_blocks.iter_executions(status="failed"):
                print(execution["execution_id"], execution["component_id"])
        """
        org_id, workspace_id = self._flow._workspace()
        pages = list_pages(
            org_id,
            workspace_id,
            status=status,
            component_type=self.component_type,
            component_id=component_id,
            page_size=page_size,
        )
        return self._pages(pages)

    @overload
    async def await_result(
        self,
        execution_id: str | UUID,
        timeout_seconds: float = 300,
        *,
        poll_interval_seconds: float = 0.5,
        not_found_retry_seconds: float = 30.0,
        result_mode: Literal["envelope"] = "envelope",
    ) -> ExecutionResult: ...

    @overload
    async def await_result(
        self,
        execution_id: str | UUID,
        timeout_seconds: float = 300,
        *,
        poll_interval_seconds: float = 0.5,
        not_found_retry_seconds: float = 30.0,
        result_mode: ResultMode,
    ) -> Any: ...

    async def await_result(
        self,
        execution_id: str | UUID,
        timeout_seconds: float = 300,
        *,
        poll_interval_seconds: float = 0.5,
        not_found_retry_seconds: float = 30.0,
        result_mode: ResultMode = "envelope",
    ) -> Any:
        """Wait until the execution is terminal (``GET .../executions/{id}/result?wait_seconds=``).

        Returns:
            The result envelope, or only its output with ``result_mode="output"``.

        Raises:
            PlatformExecutionError: The execution failed or was cancelled (remote message and traceback).
            ExecutionTimeoutError: Not terminal within ``timeout_seconds``; carries the last status.
        """
        platform = self._flow._platform()
        settings = platform._poll_settings(timeout_seconds, poll_interval_seconds, not_found_retry_seconds)
        envelope = await platform._await_terminal(str(execution_id), settings)
        return unwrap_result(envelope, result_mode)

    async def _run_component(
        self,
        component_id: str | UUID,
        input_data: dict[str, Any] | None,
        *,
        ring_id: str | UUID | None,
        result_mode: ResultMode,
        timeout_seconds: int,
        config: dict[str, Any] | None,
    ) -> Any:
        if result_mode not in ("envelope", "output"):
            raise FlowSDKError(f"result_mode must be 'envelope' or 'output', got {result_mode!r}")
        handle = await self._submit_component(
            component_id, input_data, ring_id=ring_id, timeout_seconds=timeout_seconds, config=config
        )
        return await self.await_result(handle["execution_id"], timeout_seconds + 30, result_mode=result_mode)
