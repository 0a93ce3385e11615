"""``flow.jobs``: the async job system."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flow_sdk._errors import FlowSDKError
from flow_sdk._requests import body_model
from flow_sdk.namespaces._base import Namespace

if TYPE_CHECKING:
    from flow_types import Job

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
        request = body_model(
            "JobSubmit",
            {
                "endpoint_path": endpoint_path,
                "body": body,
                "lane": lane,
                "method": method.upper(),
                "service_id": service_id or self._flow._service_id or None,
            },
        )
        result = await self._call("jobs", "submit_job", self._flow._org(), body=request)
        return cast("Job", result)

    async def get_status(self, job_id: str) -> Job:
        """Get a job's status and result (``GET .../jobs/{job_id}``)."""
        return cast("Job", await self._call("jobs", "get_job", self._flow._org(), str(job_id)))

    async def cancel(self, job_id: str) -> Job:
        """Cancel a job (``POST .../jobs/{job_id}/cancel``)."""
        return cast("Job", await self._call("jobs", "cancel_job", self._flow._org(), str(job_id)))
