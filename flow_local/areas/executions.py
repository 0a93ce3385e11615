"""Durable executions (code blocks, agents, workflows) and transforms: validation and thin handlers.

The state machine and the transport live in :mod:`flow_local.runtime.engine`; this module checks a
submission (ring, component, spec), stores it and renders the spec's shapes.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from flow_local._generated.models import (
    Error,
    Execution,
    ExecutionEvent,
    ExecutionHandle,
    ExecutionInput,
    ExecutionResult,
    ExecutionResults,
    ExecutionResultsWait,
    ExecutionSubmission,
    ExecutionSubmissionResult,
    ExecutionSubmissionResults,
    ExecutionSubmissions,
    ExecutionSubmit,
    TransformExecute,
    TransformResult,
)
from flow_local._generated.routers.executions import ExecutionsOperations
from flow_local._generated.routers.types import ComponentType, ExecutionStatusValue
from flow_local.areas.catalog import CatalogBackend
from flow_local.areas.resources import ResourcesBackend
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.errors import ApiError, bad_request, error_body, not_found
from flow_local.paging import announce
from flow_local.runtime.agent import tool_definition
from flow_local.runtime.store import TERMINAL
from flow_local.runtime.transform import MappingError, run_transform
from flow_local.runtime.workflow import WorkflowError, check_steps
from flow_local.values import new_id, now_iso

if TYPE_CHECKING:
    from flow_local.runtime.engine import ExecutionEngine

ANSWER_LINGER_SECONDS = 0.01
"""How long a held wait for many executions stays after the first of them ended, to answer the ends of
a burst together (one request instead of one each)."""


def service_of(platform: Platform) -> ExecutionEngine:
    """The running execution service (500 when the platform runs without it)."""
    from flow_local.runtime.engine import ExecutionEngine  # loaded with the engine, not with the routes

    service = platform.component(ExecutionEngine)
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
    """Check, store and start an execution given as a plain dict (a workflow step's child): see
    :func:`submit_checked`."""
    return await submit_checked(
        platform,
        org_id,
        workspace_id,
        _checked(submission),
        idempotency_key=idempotency_key,
        parent_billing_txn_id=parent_billing_txn_id,
        lifecycle_header=lifecycle_header,
        subject=subject,
    )


async def submit_checked(
    platform: Platform,
    org_id: str,
    workspace_id: str,
    checked: ExecutionSubmit,
    *,
    idempotency_key: str | None = None,
    parent_billing_txn_id: str | None = None,
    lifecycle_header: str | None = None,
    subject: str | None = None,
) -> dict[str, Any]:
    """Store and start an execution already checked against the document (a request body); the same
    idempotency key returns the first one."""
    service = service_of(platform)
    assert service.store is not None
    existing = service.store.find_by_key(org_id, workspace_id, idempotency_key)
    if existing is not None:
        return existing
    service.check_input_size(checked.input)
    _check_ring(platform, org_id, workspace_id, checked.ring_id)
    kind = checked.component_type
    mode = {"code_block": "isolated", "workflow": "inline"}.get(kind, checked.execution_mode)
    record = _new_record(
        org_id,
        workspace_id,
        checked,
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


def _checked(submission: dict[str, Any]) -> ExecutionSubmit:
    """The submission with the document's defaults applied (400 naming the field when it is wrong)."""
    try:
        return ExecutionSubmit.model_validate(submission)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        raise bad_request(f"field '{field}': {error['msg']}", field) from exc


def _lifecycle_event(submission: ExecutionSubmit, header: str | None) -> str:
    """The body's lifecycle event when it names one, else the ``X-Lifecycle-Event`` header, else the default."""
    if "lifecycle_event" in submission.model_fields_set or not header:
        return submission.lifecycle_event
    return header


def _new_record(
    org_id: str,
    workspace_id: str,
    submission: ExecutionSubmit,
    mode: str,
    idempotency_key: str | None,
    parent_billing_txn_id: str | None,
    lifecycle_header: str | None,
    subject: str | None,
) -> dict[str, Any]:
    from flow_local.runtime.engine import new_billing_txn_id  # loaded with the engine, not with the routes

    return {
        "execution_id": new_id(),
        "org_id": org_id,
        "workspace_id": workspace_id,
        "component_type": submission.component_type,
        "component_id": submission.component_id,
        "ring_id": submission.ring_id,
        "status": "pending",
        "execution_mode": mode,
        "input": submission.input,
        "config": submission.config,
        "context": submission.context,
        "lifecycle_event": _lifecycle_event(submission, lifecycle_header),
        "caller_deployment_id": submission.caller_deployment_id,
        "timeout_seconds": submission.timeout_seconds,
        "idempotency_key": idempotency_key,
        "billing_txn_id": new_billing_txn_id(),
        "parent_billing_txn_id": parent_billing_txn_id,
        "subject": subject,
        "created_at": now_iso(),
        "created_mono": time.time(),
    }


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


def render_result(record: dict[str, Any]) -> ExecutionResult:
    """The document's ``ExecutionResult`` envelope of a stored execution, with timings."""
    return ExecutionResult.model_validate({**record, "timings": _timings(record)})


async def _until_some_end(call: Call, engine: ExecutionEngine, ids: list[str], timeout: float) -> list[str]:
    """The ids that end before ``timeout`` passes or the caller disconnects (a client that gave up on a
    held request leaves no waiter behind); after the first end, those ending within
    :data:`ANSWER_LINGER_SECONDS` as well."""
    assert engine.waiters is not None
    ended = asyncio.ensure_future(engine.waiters.wait_any_terminal(ids, timeout, ANSWER_LINGER_SECONDS))
    gone = asyncio.ensure_future(_disconnected(call))
    try:
        await asyncio.wait({ended, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ended.cancel()
        gone.cancel()
    return ended.result() if ended.done() and not ended.cancelled() else []


async def _disconnected(call: Call) -> None:
    """Return when the caller's connection closes (the body was already read)."""
    while (await call.request.receive())["type"] != "http.disconnect":
        pass


class ExecutionsBackend(ExecutionsOperations[Call]):
    """Submissions, status, results and events of executions; the engine runs them."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def _service(self, org_id: str, workspace_id: str, execution_id: str | None = None) -> ExecutionEngine:
        """The execution engine; with ``execution_id``, 404 unless it is an execution of the workspace."""
        service = service_of(self.platform)
        if execution_id is not None:
            assert service.store is not None
            service.store.get_in(org_id, workspace_id, execution_id)
        return service

    async def list_executions(
        self,
        call: Call,
        *,
        org_id: str,
        workspace_id: str,
        limit: int,
        offset: int,
        cursor: str | None,
        status: ExecutionStatusValue | None,
        component_type: ComponentType | None,
        component_id: str | None,
    ) -> list[Execution]:
        """Executions of the workspace, newest first, a page at a time with cursors."""
        store = self._service(org_id, workspace_id).store
        assert store is not None
        records, next_cursor = store.list(
            org_id,
            workspace_id,
            status,
            limit,
            offset,
            cursor,
            component_type=component_type,
            component_id=component_id,
        )
        announce(call.answer_headers, next_cursor)
        return [Execution.model_validate(r) for r in records]

    async def submit_execution(
        self,
        call: Call,
        *,
        org_id: str,
        workspace_id: str,
        idempotency_key: str | None,
        x_parent_billing_txn_id: str | None,
        x_lifecycle_event: str | None,
        body: ExecutionSubmit,
    ) -> ExecutionHandle:
        """Check, store and start an execution (the same one again for a repeated Idempotency-Key)."""
        record = await submit_checked(
            self.platform,
            org_id,
            workspace_id,
            body,
            idempotency_key=idempotency_key,
            parent_billing_txn_id=x_parent_billing_txn_id,
            lifecycle_header=x_lifecycle_event,
            subject=call.principal.subject,
        )
        return ExecutionHandle.model_validate(record)

    async def submit_executions(
        self,
        call: Call,
        *,
        org_id: str,
        workspace_id: str,
        x_parent_billing_txn_id: str | None,
        x_lifecycle_event: str | None,
        body: ExecutionSubmissions,
    ) -> ExecutionSubmissionResults:
        """Check, store and start each submission as :meth:`submit_execution` would; a wrong one gets its
        error in its place and the others still start."""
        subject = call.principal.subject

        async def submit_one(item: ExecutionSubmission) -> ExecutionSubmissionResult:
            try:
                record = await submit_checked(
                    self.platform,
                    org_id,
                    workspace_id,
                    item.execution,
                    idempotency_key=item.idempotency_key,
                    parent_billing_txn_id=x_parent_billing_txn_id,
                    lifecycle_header=x_lifecycle_event,
                    subject=subject,
                )
            except ApiError as exc:
                error = Error.model_validate(error_body(exc, call.request_id))
                return ExecutionSubmissionResult(status=exc.status, error=error)
            return ExecutionSubmissionResult(status=202, handle=ExecutionHandle.model_validate(record))

        results = await asyncio.gather(*(submit_one(item) for item in body.submissions))
        return ExecutionSubmissionResults(results=list(results))

    async def get_execution(
        self, call: Call, *, org_id: str, workspace_id: str, execution_id: str
    ) -> Execution:
        """Status of an execution."""
        store = self._service(org_id, workspace_id).store
        assert store is not None
        return Execution.model_validate(store.get_in(org_id, workspace_id, execution_id))

    async def get_execution_input(
        self, call: Call, *, org_id: str, workspace_id: str, execution_id: str
    ) -> ExecutionInput:
        """The input an execution of the workspace was submitted with."""
        store = self._service(org_id, workspace_id).store
        assert store is not None
        record = store.get_in(org_id, workspace_id, execution_id)
        return ExecutionInput(execution_id=execution_id, input=record["input"] or {})

    async def cancel_execution(
        self, call: Call, *, org_id: str, workspace_id: str, execution_id: str
    ) -> Execution:
        """Request cancellation; a terminal execution is returned unchanged."""
        service = self._service(org_id, workspace_id, execution_id)
        return Execution.model_validate(await service.cancel(execution_id))

    async def get_execution_result(
        self, call: Call, *, org_id: str, workspace_id: str, execution_id: str, wait_seconds: float
    ) -> ExecutionResult:
        """The result envelope, held up to ``wait_seconds`` until the execution ends."""
        service = self._service(org_id, workspace_id)
        assert service.store is not None
        record = service.store.get_in(org_id, workspace_id, execution_id)
        return render_result(await service.wait_terminal(execution_id, wait_seconds, record))

    async def await_execution_results(
        self, call: Call, *, org_id: str, workspace_id: str, body: ExecutionResultsWait
    ) -> ExecutionResults:
        """The terminal envelopes among ``body.execution_ids``, held until one ends (or the caller leaves)."""
        service = self._service(org_id, workspace_id)
        assert service.store is not None and service.waiters is not None
        ids = [item.root for item in body.execution_ids]
        statuses = service.store.statuses_in(org_id, workspace_id, ids)
        ended = [i for i, status in statuses.items() if status in TERMINAL]
        if statuses and not ended:
            ended = await _until_some_end(call, service, list(statuses), body.wait_seconds)
        return ExecutionResults(
            results=[
                render_result(record) for record in service.store.records_in(org_id, workspace_id, ended)
            ],
            missing=[i for i in ids if i not in statuses],
        )

    async def list_execution_events(
        self,
        call: Call,
        *,
        org_id: str,
        workspace_id: str,
        execution_id: str,
        after_seq: int,
        wait_seconds: float,
    ) -> list[ExecutionEvent]:
        """Events after ``after_seq``, held up to ``wait_seconds`` for a new one."""
        service = self._service(org_id, workspace_id, execution_id)
        events = await service.wait_events(execution_id, after_seq, wait_seconds)
        return [ExecutionEvent.model_validate(e) for e in events]

    async def execute_transform(
        self, call: Call, *, org_id: str, workspace_id: str, transform_id: str, body: TransformExecute
    ) -> TransformResult:
        """A transform's mapping applied to ``input_data``."""
        component = find_component(self.platform, org_id, workspace_id, "transform", transform_id)
        try:
            output = run_transform(component["spec"] or {}, body.model_dump(mode="json")["input_data"])
        except MappingError as exc:
            raise bad_request(f"transform '{transform_id}': {exc}", "input_data") from exc
        return TransformResult.model_validate({"output": output})
