"""``flow.jobs``: the async job system."""

from __future__ import annotations

from typing import Any

from flow_sdk._errors import FlowSDKError
from flow_sdk._generated.client.enums import JOB_SUBMIT_METHOD
from flow_sdk._generated.client.jobs import (
    build_cancel_job_request,
    build_get_job_request,
    build_submit_job_request,
)
from flow_sdk._generated.types import Job, JobSubmit
from flow_sdk._requests import choose, new_idempotency_key
from flow_sdk.namespaces._base import Namespace

__all__ = ["JobsNamespace"]


class JobsNamespace(Namespace):
    """Submit, inspect and cancel long-running jobs."""

    async def submit(
        self,
        endpoint_path: str,
        body: Any = None,
        *,
        lane: str = "standard",
        method: str = "POST",
        service_id: str | None = None,
    ) -> Job:
        """Submit a job that calls ``endpoint_path`` of a service (``POST .../jobs``, idempotent)."""
        if not endpoint_path:
            raise FlowSDKError("endpoint_path must not be empty")
        request: JobSubmit = {
            "endpoint_path": endpoint_path,
            "lane": lane,
            "method": choose(method.upper(), JOB_SUBMIT_METHOD, "method"),
        }
        if body is not None:
            request["body"] = body
        target = service_id or self._flow._service_id
        if target:
            request["service_id"] = target
        built = build_submit_job_request(
            self._flow._org(), body=request, idempotency_key=new_idempotency_key()
        )
        return await self._send(built)

    async def get_status(self, job_id: str) -> Job:
        """Get a job's status and result (``GET .../jobs/{job_id}``)."""
        return await self._send(build_get_job_request(self._flow._org(), str(job_id)))

    async def cancel(self, job_id: str) -> Job:
        """Cancel a job (``POST .../jobs/{job_id}/cancel``)."""
        return await self._send(build_cancel_job_request(self._flow._org(), str(job_id)))
