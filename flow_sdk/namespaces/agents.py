"""``flow.agents``: durable agent executions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from flow_sdk._polling import ResultMode
from flow_sdk.namespaces._executions import ExecutionNamespace

if TYPE_CHECKING:
    from flow_sdk._generated.types import ExecutionHandle

__all__ = ["AgentsNamespace"]


class AgentsNamespace(ExecutionNamespace):
    """Submit and manage durable agent executions."""

    component_type = "agent"
    lifecycle_event = "agent_run"

    async def run(
        self,
        agent_id: str | UUID,
        input_data: dict[str, Any] | None = None,
        result_mode: ResultMode = "envelope",
        *,
        ring_id: str | UUID | None = None,
        timeout_seconds: int = 300,
        config: dict[str, Any] | None = None,
    ) -> Any:
        """Submit a agent execution and wait for its result (``POST .../executions``, then poll).

        Returns:
            The result envelope, or only its output with ``result_mode="output"``.
        """
        return await self._run_component(
            agent_id,
            input_data,
            ring_id=ring_id,
            result_mode=result_mode,
            timeout_seconds=timeout_seconds,
            config=config,
        )

    async def submit(
        self,
        agent_id: str | UUID,
        input_data: dict[str, Any] | None = None,
        *,
        ring_id: str | UUID | None = None,
        timeout_seconds: int = 300,
        config: dict[str, Any] | None = None,
    ) -> ExecutionHandle:
        """Submit a agent execution and return its handle (``POST .../executions``)."""
        return await self._submit_component(
            agent_id, input_data, ring_id=ring_id, timeout_seconds=timeout_seconds, config=config
        )
