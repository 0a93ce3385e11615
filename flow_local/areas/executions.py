"""Durable executions (code blocks, agents, workflows) and transforms: validation and thin handlers.

The state machine and the transport live in :mod:`flow_local.runtime.service`; this module checks a
submission (ring, component, spec), stores it and renders the spec's shapes.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from flow_server_models import ExecutionSubmit, TransformExecute

from flow_local.areas.catalog import CatalogBackend
from flow_local.areas.resources import ResourcesBackend
from flow_local.areas.tenants import check_workspace
from flow_local.auth import Principal, get_principal
from flow_local.core import Platform, platform_of
from flow_local.errors import ApiError, bad_request, not_found
from flow_local.runtime.agent import tool_definition
from flow_local.runtime.service import ExecutionService, new_billing_txn_id
from flow_local.runtime.store import ExecutionStore
from flow_local.runtime.transform import MappingError, run_transform
from flow_local.runtime.workflow import WorkflowError, check_steps
from flow_local.values import new_id, now_iso

EXECUTION_FIELDS = (
    "execution_id",
    "status",
    "component_type",
    "component_id",
    "ring_id",
    "created_at",
    "started_at",
    "finished_at",
    "timeout_seconds",
    "attempt",
    "lifecycle_event",
    "caller_deployment_id",
    "billing_txn_id",
    "parent_billing_txn_id",
    "context",
    "config",
    "cancel_requested",
)
RESULT_FIELDS = (
    "execution_id",
    "status",
    "output",
    "error",
    "usage",
    "messages",
    "conversation_id",
    "steps",
    "stdout",
    "stderr",
    "finished_at",
)


def service_of(platform: Platform) -> ExecutionService:
    """The running execution service (500 when the platform runs without it)."""
    service = platform.component(ExecutionService)
    if service is None or service.store is None:
        raise ApiError(500, "internal_error", "the execution service is not running on this platform")
    return service


def find_component(
    platform: Platform, org_id: str, workspace_id: str, component_type: str, component_id: str
) -> dict[str, Any]:
    """A catalog component of a type (404 naming it when absent)."""
    try:
        return platform.backend(CatalogBackend).get(org_id, workspace_id, component_type, component_id)
    except ApiError as exc:
        if exc.status == 404:
            raise not_found(component_type.replace("_", " "), component_id) from exc
        raise


def resolve_spec(platform: Platform, record: dict[str, Any]) -> dict[str, Any]:
    """The runnable spec of an execution's component, checked (400 naming what is wrong)."""
    org_id, workspace_id = record["org_id"], record["workspace_id"]
    kind, component_id = record["component_type"], record["component_id"]
    spec = dict(find_component(platform, org_id, workspace_id, kind, component_id)["spec"] or {})
    if kind == "code_block" and not isinstance(spec.get("source"), str):
        raise bad_request(f"code block '{component_id}' has no 'source' in its spec", "component_id")
    if kind == "agent":
        if not spec.get("model"):
            raise bad_request(f"agent '{component_id}' has no 'model' in its spec", "component_id")
        tools = [
            find_component(platform, org_id, workspace_id, "code_block", str(t))
            for t in spec.get("tools") or []
        ]
        spec["tool_definitions"] = [tool_definition(t) for t in tools]
    if kind == "workflow":
        try:
            steps = check_steps(spec)
        except WorkflowError as exc:
            raise bad_request(f"workflow '{component_id}': {exc}", "component_id") from exc
        for step in steps:
            find_component(
                platform, org_id, workspace_id, str(step.get("component_type")), str(step.get("component_id"))
            )
    return spec


def _check_ring(platform: Platform, org_id: str, workspace_id: str, ring_id: str) -> None:
    try:
        platform.backend(ResourcesBackend).get(org_id, workspace_id, "ring", ring_id)
    except ApiError as exc:
        if exc.status == 404:
            raise ApiError(
                404, "not_found", f"ring '{ring_id}' not found in this workspace", "ring_id"
            ) from exc
        raise


async def submit_record(
    platform: Platform,
    org_id: str,
    workspace_id: str,
    submission: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    parent_billing_txn_id: str | None = None,
    lifecycle_header: str | None = None,
    subject: str | None = None,
) -> dict[str, Any]:
    """Check, store and start an execution; the same idempotency key returns the first one."""
    service = service_of(platform)
    assert service.store is not None
    existing = service.store.find_by_key(org_id, workspace_id, idempotency_key)
    if existing is not None:
        return existing
    service.check_input_size(submission.get("input"))
    _check_ring(platform, org_id, workspace_id, str(submission["ring_id"]))
    kind = submission["component_type"]
    mode = {"code_block": "isolated", "workflow": "inline"}.get(
        kind, submission.get("execution_mode") or "isolated"
    )
    record = _new_record(
        org_id,
        workspace_id,
        submission,
        mode,
        idempotency_key,
        parent_billing_txn_id,
        lifecycle_header,
        subject,
    )
    spec = resolve_spec(platform, record)
    if kind == "code_block" and spec.get("timeout_seconds"):
        record["timeout_seconds"] = min(int(record["timeout_seconds"]), int(spec["timeout_seconds"]))
    stored = service.store.insert(record)
    if stored["execution_id"] == record["execution_id"]:
        await service.start_execution(stored, spec)
    return stored


def _new_record(
    org_id: str,
    workspace_id: str,
    submission: dict[str, Any],
    mode: str,
    idempotency_key: str | None,
    parent_billing_txn_id: str | None,
    lifecycle_header: str | None,
    subject: str | None,
) -> dict[str, Any]:
    return {
        "execution_id": new_id(),
        "org_id": org_id,
        "workspace_id": workspace_id,
        "component_type": submission["component_type"],
        "component_id": submission["component_id"],
        "ring_id": submission["ring_id"],
        "status": "pending",
        "execution_mode": mode,
        "input": submission.get("input") or {},
        "config": submission.get("config"),
        "context": submission.get("context"),
        "lifecycle_event": submission.get("lifecycle_event") or lifecycle_header or "workflow",
        "caller_deployment_id": submission.get("caller_deployment_id"),
        "timeout_seconds": int(submission.get("timeout_seconds") or 300),
        "idempotency_key": idempotency_key,
        "billing_txn_id": new_billing_txn_id(),
        "parent_billing_txn_id": parent_billing_txn_id,
        "subject": subject,
        "created_at": now_iso(),
        "created_mono": time.time(),
    }


def render_handle(record: dict[str, Any]) -> dict[str, Any]:
    """The spec's ``ExecutionHandle``."""
    keys = ("execution_id", "status", "component_type", "component_id", "created_at", "billing_txn_id")
    return {k: record[k] for k in keys}


def render_execution(record: dict[str, Any]) -> dict[str, Any]:
    """The spec's ``Execution``."""
    return {k: record[k] for k in EXECUTION_FIELDS}


def render_result(record: dict[str, Any]) -> dict[str, Any]:
    """The spec's ``ExecutionResult`` envelope, with timings."""
    result = {k: record[k] for k in RESULT_FIELDS}
    result["timings"] = _timings(record)
    return result


def _timings(record: dict[str, Any]) -> dict[str, float] | None:
    def seconds(value: str | None) -> float | None:
        return None if not value else datetime.fromisoformat(value).timestamp()

    created, started, finished = (seconds(record[k]) for k in ("created_at", "started_at", "finished_at"))
    if created is None or finished is None:
        return None
    timings = {"total_ms": round((finished - created) * 1000, 3)}
    if started is not None:
        timings.update(
            queued_ms=round((started - created) * 1000, 3), run_ms=round((finished - started) * 1000, 3)
        )
    return timings


router = APIRouter(prefix="/api/v1/orgs/{org_id}/workspaces/{workspace_id}", tags=["executions"])


def _scoped(request: Request, principal: Principal, org_id: str, workspace_id: str) -> ExecutionService:
    check_workspace(request, principal, org_id, workspace_id)
    return service_of(platform_of(request))


@router.get("/executions")
async def list_executions(
    org_id: str,
    workspace_id: str,
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    status: str | None = Query(None, pattern="^(pending|running|completed|failed|timeout|cancelled)$"),
    principal: Principal = Depends(get_principal),
) -> list[dict[str, Any]]:
    """GET .../executions: newest first."""
    store = _scoped(request, principal, org_id, workspace_id).store
    assert store is not None
    return [render_execution(r) for r in store.list(org_id, workspace_id, status, limit, offset)]


@router.post("/executions", status_code=202)
async def submit_execution(
    org_id: str,
    workspace_id: str,
    body: ExecutionSubmit,
    request: Request,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", min_length=1, max_length=200),
    parent_billing_txn_id: str | None = Header(None, alias="X-Parent-Billing-Txn-Id", max_length=200),
    lifecycle_event: str | None = Header(None, alias="X-Lifecycle-Event", max_length=64),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../executions: 202 with the handle (the same one again for a repeated Idempotency-Key)."""
    _scoped(request, principal, org_id, workspace_id)
    submission = body.model_dump(mode="json")
    record = await submit_record(
        platform_of(request),
        org_id,
        workspace_id,
        submission,
        idempotency_key=idempotency_key,
        parent_billing_txn_id=parent_billing_txn_id,
        lifecycle_header=lifecycle_event,
        subject=principal.subject,
    )
    return render_handle(record)


@router.get("/executions/{execution_id}")
async def get_execution(
    org_id: str,
    workspace_id: str,
    execution_id: str,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """GET .../executions/{execution_id}."""
    store = _scoped(request, principal, org_id, workspace_id).store
    assert store is not None
    return render_execution(store.get_in(org_id, workspace_id, execution_id))


@router.post("/executions/{execution_id}/cancel")
async def cancel_execution(
    org_id: str,
    workspace_id: str,
    execution_id: str,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../executions/{execution_id}/cancel: a terminal execution is returned unchanged."""
    service = _scoped(request, principal, org_id, workspace_id)
    assert service.store is not None
    service.store.get_in(org_id, workspace_id, execution_id)
    return render_execution(await service.cancel(execution_id))


@router.get("/executions/{execution_id}/result")
async def get_execution_result(
    org_id: str,
    workspace_id: str,
    execution_id: str,
    request: Request,
    wait_seconds: float = Query(0, ge=0, le=60),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """GET .../executions/{execution_id}/result: held up to ``wait_seconds`` until terminal."""
    service = _scoped(request, principal, org_id, workspace_id)
    assert service.store is not None
    record = service.store.get_in(org_id, workspace_id, execution_id)
    return render_result(await service.wait_terminal(execution_id, wait_seconds, record))


@router.get("/executions/{execution_id}/events")
async def list_execution_events(
    org_id: str,
    workspace_id: str,
    execution_id: str,
    request: Request,
    after_seq: int = Query(0, ge=0),
    wait_seconds: float = Query(0, ge=0, le=60),
    principal: Principal = Depends(get_principal),
) -> list[dict[str, Any]]:
    """GET .../executions/{execution_id}/events: after ``after_seq``, held up to ``wait_seconds`` for a new one."""
    service = _scoped(request, principal, org_id, workspace_id)
    assert service.store is not None
    service.store.get_in(org_id, workspace_id, execution_id)
    return await service.wait_events(execution_id, after_seq, wait_seconds)


@router.post("/transforms/{transform_id}/execute")
async def execute_transform(
    org_id: str,
    workspace_id: str,
    transform_id: str,
    body: TransformExecute,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../transforms/{transform_id}/execute: the mapping applied to ``input_data``."""
    check_workspace(request, principal, org_id, workspace_id)
    component = find_component(platform_of(request), org_id, workspace_id, "transform", transform_id)
    try:
        output = run_transform(component["spec"] or {}, body.model_dump(mode="json")["input_data"])
    except MappingError as exc:
        raise bad_request(f"transform '{transform_id}': {exc}", "input_data") from exc
    return {"output": output}


__all__ = ["ExecutionStore", "find_component", "resolve_spec", "router", "submit_record"]
