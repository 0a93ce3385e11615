"""The workflow engine: steps run as soon as their dependencies are done (independent ones concurrently).

Step inputs map values: a string ``$.input.x`` reads the workflow input, ``$.steps.<id>.output.y`` reads an
earlier step's output (the step must be listed in ``depends_on`` or be one of its ancestors). A failed step
fails the workflow, naming the step; steps not started yet are marked ``skipped``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from flow_local.runtime.transform import MappingError, apply_mapping

RunStep = Callable[[dict[str, Any], dict[str, Any]], Awaitable[Any]]
OnProgress = Callable[[dict[str, Any]], None]


class WorkflowError(Exception):
    """A workflow is malformed or one of its steps failed."""

    def __init__(self, message: str, step_id: str | None = None, error_type: str = "WorkflowError") -> None:
        super().__init__(message)
        self.step_id = step_id
        self.error_type = error_type


def check_steps(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps of a workflow spec, validated: unique ids, known dependencies, no cycle.

    Raises:
        WorkflowError: The spec is malformed.
    """
    steps = list(spec.get("steps") or [])
    if not steps:
        raise WorkflowError("the workflow has no steps")
    ids = [str(s.get("id", "")) for s in steps]
    if "" in ids or len(set(ids)) != len(ids):
        raise WorkflowError("every workflow step needs a unique 'id'")
    for step in steps:
        for dependency in step.get("depends_on") or []:
            if dependency not in ids:
                raise WorkflowError(f"step '{step['id']}' depends on unknown step '{dependency}'", step["id"])
    _check_acyclic({s["id"]: list(s.get("depends_on") or []) for s in steps})
    return steps


def _check_acyclic(graph: dict[str, list[str]]) -> None:
    done: set[str] = set()
    while len(done) < len(graph):
        ready = [node for node, deps in graph.items() if node not in done and set(deps) <= done]
        if not ready:
            raise WorkflowError(f"the steps {sorted(set(graph) - done)} depend on each other in a cycle")
        done.update(ready)


async def run_workflow(
    spec: dict[str, Any], input_data: dict[str, Any], run_step: RunStep, on_progress: OnProgress
) -> tuple[Any, dict[str, Any]]:
    """Run every step; return the workflow output and the per-step record.

    Raises:
        WorkflowError: A step failed (``step_id`` names it) or a mapping points at nothing.
    """
    steps = check_steps(spec)
    record: dict[str, Any] = {
        s["id"]: {
            "status": "pending",
            "component_type": s.get("component_type"),
            "component_id": s.get("component_id"),
        }
        for s in steps
    }
    outputs: dict[str, Any] = {}
    done: dict[str, asyncio.Event] = {s["id"]: asyncio.Event() for s in steps}
    failure: list[WorkflowError] = []

    async def run_one(step: dict[str, Any]) -> None:
        for dependency in step.get("depends_on") or []:
            await done[dependency].wait()
        if failure:
            record[step["id"]]["status"] = "skipped"
            done[step["id"]].set()
            return
        try:
            await _run_step(step, input_data, outputs, record, run_step, on_progress)
        except WorkflowError as exc:
            failure.append(exc)
        finally:
            done[step["id"]].set()

    await asyncio.gather(*(run_one(step) for step in steps))
    on_progress(record)
    if failure:
        raise failure[0]
    context = {"input": input_data, "steps": {k: {"output": v} for k, v in outputs.items()}}
    if spec.get("output") is not None:
        return _map(spec["output"], context, None), record
    return {step_id: outputs[step_id] for step_id in outputs}, record


async def _run_step(
    step: dict[str, Any],
    input_data: dict[str, Any],
    outputs: dict[str, Any],
    record: dict[str, Any],
    run_step: RunStep,
    on_progress: OnProgress,
) -> None:
    step_id = step["id"]
    context = {"input": input_data, "steps": {k: {"output": v} for k, v in outputs.items()}}
    inputs = _map(step.get("inputs") or {}, context, step_id)
    record[step_id]["status"] = "running"
    on_progress(record)
    try:
        outputs[step_id] = await run_step(step, inputs)
    except WorkflowError:
        record[step_id]["status"] = "failed"
        raise
    except Exception as exc:
        record[step_id].update(status="failed", error={"message": str(exc), "type": type(exc).__name__})
        raise WorkflowError(f"step '{step_id}' failed: {exc}", step_id, type(exc).__name__) from exc
    record[step_id].update(status="completed", output=outputs[step_id])
    on_progress(record)


def _map(mapping: Any, context: dict[str, Any], step_id: str | None) -> Any:
    try:
        return apply_mapping(mapping, context)
    except MappingError as exc:
        where = f"step '{step_id}'" if step_id else "the workflow output"
        raise WorkflowError(f"{where}: {exc}", step_id, "MappingError") from exc
