"""The one shape of an execution submission, shared by PlatformClient, FlowSDK and CLIClient.

Agents submitted without an explicit mode run isolated (in their own runner process); inline runs are
asked for explicitly (``PlatformClient.execute_agent(execution_mode="inline")``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flow_sdk._errors import FlowSDKError
from flow_sdk._generated.client.enums import EXECUTABLE_TYPE, EXECUTION_SUBMIT_EXECUTION_MODE
from flow_sdk._generated.client.executions import build_submit_execution_request
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.types import ExecutableType, ExecutionHandle, ExecutionSubmit
from flow_sdk._requests import choose, new_idempotency_key

__all__ = ["submit_request"]


def submit_request(
    org_id: str,
    workspace_id: str,
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
) -> ApiRequest[ExecutionHandle]:
    """Build ``POST .../executions`` with a fresh Idempotency-Key, so a retried submission runs once.

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
    return build_submit_execution_request(
        org_id, workspace_id, body=body, idempotency_key=new_idempotency_key()
    )
