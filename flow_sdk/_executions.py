"""The one shape of an execution submission, shared by PlatformClient, FlowSDK and CLIClient.

Agents submitted without an explicit mode run isolated (in their own runner process); inline runs are
asked for explicitly (``PlatformClient.execute_agent(execution_mode="inline")``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flow_sdk._errors import FlowSDKError
from flow_sdk._generated.client.enums import (
    COMPONENT_TYPE,
    EXECUTABLE_TYPE,
    EXECUTION_STATUS_VALUE,
    EXECUTION_SUBMIT_EXECUTION_MODE,
)
from flow_sdk._generated.client.executions import (
    build_list_executions_request,
    build_submit_execution_request,
    build_submit_executions_request,
)
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.types import (
    ComponentType,
    ExecutableType,
    Execution,
    ExecutionHandle,
    ExecutionStatusValue,
    ExecutionSubmission,
    ExecutionSubmissionResults,
    ExecutionSubmit,
)
from flow_sdk._pages import PageBuilder
from flow_sdk._requests import choose, new_idempotency_key

__all__ = ["batch_request", "list_pages", "single_request", "submission"]


def list_pages(
    org_id: str,
    workspace_id: str,
    *,
    status: str | None,
    component_type: str | None,
    component_id: str | UUID | None,
    page_size: int,
) -> PageBuilder[Execution]:
    """The pages of ``GET .../executions`` with these filters, checked once, for an iterator of executions.

    Raises:
        FlowSDKError: ``status`` or ``component_type`` is not one the document allows.
    """
    wanted: ExecutionStatusValue | None = None
    if status is not None:
        checked: ExecutionStatusValue = choose(status, EXECUTION_STATUS_VALUE, "status")
        wanted = checked
    kind: ComponentType | None = None
    if component_type is not None:
        chosen: ComponentType = choose(component_type, COMPONENT_TYPE, "component_type")
        kind = chosen
    component = None if component_id is None else str(component_id)

    def page(cursor: str | None) -> ApiRequest[list[Execution]]:
        return build_list_executions_request(
            org_id,
            workspace_id,
            limit=page_size,
            cursor=cursor,
            status=wanted,
            component_type=kind,
            component_id=component,
        )

    return page


def submission(
    component_type: str,
    component_id: str | UUID,
    input_data: dict[str, Any] | None,
    *,
    ring_id: str,
    lifecycle_event: str,
    timeout_seconds: int | None = None,
    config: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    caller_deployment_id: str | UUID | None = None,
    execution_mode: str | None = None,
) -> ExecutionSubmission:
    """One submission (the body of ``POST .../executions``) with a fresh idempotency key, so a retried
    submission runs once.

    Raises:
        FlowSDKError: The component type or execution mode is not one the document allows, or the
            component id is empty.
    """
    kind: ExecutableType = choose(component_type, EXECUTABLE_TYPE, "component_type")
    if not str(component_id):
        raise FlowSDKError(f"{kind}_id must not be empty", code="invalid_request")
    body: ExecutionSubmit = {
        "component_type": kind,
        "component_id": str(component_id),
        "input": dict(input_data or {}),
        "ring_id": ring_id,
        "lifecycle_event": lifecycle_event,
    }
    if timeout_seconds is not None:
        body["timeout_seconds"] = timeout_seconds
    if config is not None:
        body["config"] = config
    if context is not None:
        body["context"] = context
    if caller_deployment_id is not None:
        body["caller_deployment_id"] = str(caller_deployment_id)
    mode = execution_mode or ("isolated" if kind == "agent" else None)
    if mode is not None:
        body["execution_mode"] = choose(mode, EXECUTION_SUBMIT_EXECUTION_MODE, "execution_mode")
    return {"idempotency_key": new_idempotency_key(), "execution": body}


def single_request(org_id: str, workspace_id: str, item: ExecutionSubmission) -> ApiRequest[ExecutionHandle]:
    """``POST .../executions`` of one submission, its key as the Idempotency-Key header."""
    return build_submit_execution_request(
        org_id, workspace_id, body=item["execution"], idempotency_key=item["idempotency_key"]
    )


def batch_request(
    org_id: str, workspace_id: str, items: list[ExecutionSubmission]
) -> ApiRequest[ExecutionSubmissionResults]:
    """``POST .../execution-submissions`` of several submissions (each keeps its own key)."""
    return build_submit_executions_request(org_id, workspace_id, body={"submissions": items})
