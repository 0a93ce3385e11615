"""``flow.connectors``: connector operations, DDL, and large writes routed through write jobs."""

from __future__ import annotations

import json
import time
from typing import Any, cast

from flow_sdk._errors import ExecutionTimeoutError, FlowSDKError, PlatformExecutionError
from flow_sdk._generated.client.connectors import (
    build_execute_connector_ddl_request,
    build_execute_connector_operation_request,
    build_get_connector_write_job_request,
    build_submit_connector_write_job_request,
)
from flow_sdk._generated.client.enums import DDL_REQUEST_SCOPE_TYPE
from flow_sdk._generated.types import (
    ConnectorOperation,
    ConnectorOperationResult,
    ConnectorWriteJob,
    DdlRequest,
    DdlResult,
)
from flow_sdk._requests import choose, new_idempotency_key
from flow_sdk.namespaces._base import Namespace

__all__ = [
    "MAX_INLINE_BYTES",
    "MAX_INLINE_ROWS",
    "WRITE_OPERATIONS",
    "ConnectorsNamespace",
    "needs_write_job",
]

MAX_INLINE_ROWS = 100
MAX_INLINE_BYTES = 256 * 1024
WRITE_OPERATIONS = frozenset({"insert_rows"})
_WRITE_JOB_TIMEOUT_SECONDS = 600.0
_TERMINAL_JOB_STATUSES = frozenset({"completed", "failed", "cancelled"})


def needs_write_job(operation: str, params: dict[str, Any]) -> bool:
    """True for a write with more than 100 rows or more than 256 KB of parameters."""
    if operation not in WRITE_OPERATIONS:
        return False
    rows: Any = params.get("rows")
    if isinstance(rows, list) and len(cast("list[object]", rows)) > MAX_INLINE_ROWS:
        return True
    return len(json.dumps(params, default=str).encode()) > MAX_INLINE_BYTES


class ConnectorsNamespace(Namespace):
    """Execute operations and DDL against connector instances."""

    async def execute_operation(
        self, connector_instance_id: str, operation: str, params: dict[str, Any] | None = None
    ) -> ConnectorOperationResult:
        """Run an operation (``POST /api/v1/connectors/instances/{id}/execute``).

        Large writes go through ``POST .../write-jobs`` and ``GET /api/v1/connectors/write-jobs/{job_id}``
        transparently; the result then carries ``job_id``.

        Raises:
            PlatformExecutionError: A write job failed.
        """
        if not connector_instance_id:
            raise FlowSDKError("connector_instance_id must not be empty")
        body: ConnectorOperation = {"operation": operation, "params": dict(params or {})}
        if needs_write_job(operation, body["params"]):
            return await self._run_write_job(str(connector_instance_id), operation, body)
        return await self._send(
            build_execute_connector_operation_request(str(connector_instance_id), body=body)
        )

    async def insert_rows(
        self, connector_instance_id: str, table: str, rows: list[dict[str, Any]]
    ) -> ConnectorOperationResult:
        """Insert rows into ``table`` (a write job when over 100 rows or 256 KB)."""
        return await self.execute_operation(
            connector_instance_id, "insert_rows", {"table": table, "rows": rows}
        )

    async def execute_ddl(
        self,
        connector_instance_id: str,
        sql: str,
        confirm: bool = False,
        *,
        scope_type: str = "workspace",
        scope_id: str | None = None,
        reason: str | None = None,
    ) -> DdlResult:
        """Preview (``confirm=False``) or run DDL (``POST /api/v1/connectors/instances/{id}/execute-ddl``)."""
        if not sql or not sql.strip():
            raise FlowSDKError("sql must not be empty")
        body: DdlRequest = {
            "scope_type": choose(scope_type, DDL_REQUEST_SCOPE_TYPE, "scope_type"),
            "scope_id": scope_id or self._flow._workspace_id or None,
            "sql": sql,
            "confirm": confirm,
            "reason": reason,
        }
        return await self._send(build_execute_connector_ddl_request(str(connector_instance_id), body=body))

    async def _run_write_job(
        self, instance_id: str, operation: str, body: ConnectorOperation
    ) -> ConnectorOperationResult:
        submit = build_submit_connector_write_job_request(
            instance_id, body=body, idempotency_key=new_idempotency_key()
        )
        job = await self._await_write_job(await self._send(submit))
        if job["status"] != "completed":
            error = PlatformExecutionError(
                f"connector write job {job['job_id']} {job['status']}: {job.get('error') or 'no detail'}",
                detail=str(job.get("error") or job["status"]),
                code="write_job_failed",
            )
            raise error
        return {"operation": operation, "rows_affected": job.get("rows_affected"), "job_id": job["job_id"]}

    async def _await_write_job(self, job: ConnectorWriteJob) -> ConnectorWriteJob:
        deadline = time.monotonic() + _WRITE_JOB_TIMEOUT_SECONDS
        while job["status"] not in _TERMINAL_JOB_STATUSES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ExecutionTimeoutError(
                    f"connector write job {job['job_id']} did not finish within {_WRITE_JOB_TIMEOUT_SECONDS:g} s",
                    execution_id=job["job_id"],
                    last_status=dict(job),
                )
            wait = round(min(30.0, remaining), 3)
            job = await self._send(build_get_connector_write_job_request(job["job_id"], wait_seconds=wait))
        return job
