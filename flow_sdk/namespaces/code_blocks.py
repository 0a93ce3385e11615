"""``flow.code_blocks``: durable code block executions."""

from __future__ import annotations

from typing import Any, Literal, overload
from uuid import UUID

from flow_sdk._generated.types import ExecutionHandle, ExecutionResult
from flow_sdk._polling import ResultMode
from flow_sdk.namespaces._executions import ExecutionNamespace

__all__ = ["CodeBlocksNamespace"]


class CodeBlocksNamespace(ExecutionNamespace):
    """Submit and manage durable code block executions."""

    component_type = "code_block"
    lifecycle_event = "workflow"

    @overload
    async def run(
        self,
        code_block_id: str | UUID,
        input_parameters: dict[str, Any] | None = None,
        result_mode: Literal["envelope"] = "envelope",
        *,
        ring_id: str | UUID | None = None,
        timeout_seconds: int = 300,
        config: dict[str, Any] | None = None,
    ) -> ExecutionResult: ...

    @overload
    async def run(
        self,
        code_block_id: str | UUID,
        input_parameters: dict[str, Any] | None,
        result_mode: ResultMode,
        *,
        ring_id: str | UUID | None = None,
        timeout_seconds: int = 300,
        config: dict[str, Any] | None = None,
    ) -> Any: ...

    @overload
    async def run(
        self,
        code_block_id: str | UUID,
        input_parameters: dict[str, Any] | None = None,
        *,
        result_mode: ResultMode,
        ring_id: str | UUID | None = None,
        timeout_seconds: int = 300,
        config: dict[str, Any] | None = None,
    ) -> Any: ...

    async def run(
        self,
        code_block_id: str | UUID,
        input_parameters: dict[str, Any] | None = None,
        result_mode: ResultMode = "envelope",
        *,
        ring_id: str | UUID | None = None,
        timeout_seconds: int = 300,
        config: dict[str, Any] | None = None,
    ) -> Any:
        """Submit a code block execution and wait for its result (``POST .../executions``, then poll).

        Returns:
            The result envelope (:class:`flow_sdk._generated.types.ExecutionResult`), or only its output (any JSON)
            with ``result_mode="output"``.
        """
        return await self._run_component(
            code_block_id,
            input_parameters,
            ring_id=ring_id,
            result_mode=result_mode,
            timeout_seconds=timeout_seconds,
            config=config,
        )

    async def submit(
        self,
        code_block_id: str | UUID,
        input_parameters: dict[str, Any] | None = None,
        *,
        ring_id: str | UUID | None = None,
        timeout_seconds: int = 300,
        config: dict[str, Any] | None = None,
    ) -> ExecutionHandle:
        """Submit a code block execution and return its handle (``POST .../executions``)."""
        return await self._submit_component(
            code_block_id, input_parameters, ring_id=ring_id, timeout_seconds=timeout_seconds, config=config
        )
