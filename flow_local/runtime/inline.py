"""Executions that run inside the platform process: workflows and inline agents.

Their code-block and agent steps run as child executions (through the runners), each carrying the
parent's billing transaction as ``parent_billing_txn_id``; transform steps run in place.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from typing import Any, Protocol

from flow_local.core import Platform
from flow_local.runtime.agent import agent_loop
from flow_local.runtime.collaborators import Collaborators
from flow_local.runtime.store import ExecutionStore
from flow_local.runtime.transform import run_transform
from flow_local.runtime.workflow import WorkflowError, run_workflow


class InlineEngine(Protocol):
    """What an inline execution needs of the execution engine that started it."""

    collaborators: Collaborators
    platform: Platform | None
    store: ExecutionStore | None

    def finish(self, execution_id: str, status: str, fields: dict[str, Any]) -> bool:
        """Move an execution to a terminal status with its result fields."""
        ...

    def add_event(self, execution_id: str, event_type: str, data: dict[str, Any]) -> None:
        """Store an event of an execution."""
        ...

    def _schedule_deadline(self, execution_id: str, seconds: float) -> None: ...

    async def wait_terminal(self, execution_id: str, timeout: float) -> dict[str, Any]:
        """Wait until an execution is terminal (or the timeout passes) and return its record."""
        ...

    async def cancel(self, execution_id: str) -> dict[str, Any]:
        """Cancel an execution."""
        ...


class ChildExecutionError(Exception):
    """A child execution ended without completing."""

    def __init__(self, record: dict[str, Any]) -> None:
        error = record.get("error") or {}
        super().__init__(
            f"{record['component_type']} '{record['component_id']}' {record['status']}: {error.get('message', '')}"
        )
        self.record = record


async def run_child(
    service: InlineEngine,
    parent: dict[str, Any],
    component_type: str,
    component_id: str,
    inputs: dict[str, Any],
) -> Any:
    """Submit a child execution of ``parent`` and return its output once it completes.

    Raises:
        ChildExecutionError: The child failed, timed out or was cancelled.
    """
    assert service.platform is not None
    remaining = max(
        1, int(parent["timeout_seconds"] - (time.time() - float(parent.get("started_mono") or time.time())))
    )
    submission = {
        "component_type": component_type,
        "component_id": component_id,
        "input": inputs,
        "ring_id": parent["ring_id"],
        "timeout_seconds": remaining,
        "lifecycle_event": parent.get("lifecycle_event") or "workflow",
        "execution_mode": "isolated",
        "context": {"parent_execution_id": parent["execution_id"]},
    }
    child = await service.collaborators.submit_child(
        service.platform,
        parent["org_id"],
        parent["workspace_id"],
        submission,
        parent_billing_txn_id=parent["billing_txn_id"],
        subject=parent.get("subject"),
    )
    try:
        record = await service.wait_terminal(child["execution_id"], remaining + 5)
        if record["status"] not in ("completed",):
            if record["status"] in ("pending", "running"):
                await service.cancel(child["execution_id"])
            raise ChildExecutionError(service.store.get(child["execution_id"]))  # type: ignore[union-attr]
    except asyncio.CancelledError:
        await service.cancel(child["execution_id"])
        raise
    return record["output"]


async def run_inline(service: InlineEngine, record: dict[str, Any], spec: dict[str, Any]) -> None:
    """Run a workflow or an inline agent to a terminal state."""
    assert service.store is not None
    execution_id = record["execution_id"]
    service.store.mark_running(execution_id, time.time())
    record = service.store.get(execution_id)
    service._schedule_deadline(execution_id, float(record["timeout_seconds"]))
    try:
        if record["component_type"] == "workflow":
            fields = await _workflow(service, record, spec)
        else:
            fields = await _agent(service, record, spec)
    except asyncio.CancelledError:
        return
    except WorkflowError as exc:
        error = {"message": str(exc), "type": exc.error_type, "step": exc.step_id}
        service.finish(execution_id, "failed", {"error": error})
        return
    except Exception as exc:
        error = {"message": str(exc), "type": type(exc).__name__, "traceback": traceback.format_exc()}
        service.finish(execution_id, "failed", {"error": error})
        return
    service.finish(execution_id, "completed", fields)


async def _workflow(service: InlineEngine, record: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    store, platform = service.store, service.platform
    assert store is not None and platform is not None

    async def run_step(step: dict[str, Any], inputs: dict[str, Any]) -> Any:
        kind, component_id = str(step.get("component_type")), str(step["component_id"])
        if kind == "transform":
            component = service.collaborators.find_component(
                platform, record["org_id"], record["workspace_id"], "transform", component_id
            )
            return run_transform(component["spec"], inputs)
        return await run_child(service, record, kind, component_id, inputs)

    def on_progress(steps: dict[str, Any]) -> None:
        store.set_steps(record["execution_id"], steps)

    output, steps = await run_workflow(spec, record.get("input") or {}, run_step, on_progress)
    return {"output": output, "steps": steps}


async def _agent(service: InlineEngine, record: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    platform = service.platform
    assert platform is not None
    execution_id = record["execution_id"]

    async def chat(request: dict[str, Any]) -> dict[str, Any]:
        return await service.collaborators.chat(platform, {k: v for k, v in request.items() if v is not None})

    async def run_tool(component_id: str, arguments: dict[str, Any]) -> Any:
        return await run_child(service, record, "code_block", component_id, arguments)

    async def emit(event_type: str, data: dict[str, Any]) -> None:
        service.add_event(execution_id, event_type, data)

    return await agent_loop(spec, record.get("input") or {}, chat, run_tool, emit)
