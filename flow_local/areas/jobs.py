"""Async jobs: a queued call to a hosted-service endpoint, run by the platform in a lane.

Each lane runs at most its limit of jobs at once (``standard`` 4, ``priority`` 8, ``bulk`` 1, any
other lane 2; ``FLOW_LOCAL_JOB_LANES="standard=4,bulk=1"`` changes them); within a lane jobs start
oldest first. A job calls the latest running version of its service with the submitter's identity and
the ``X-Flow-Job-Id`` header, which the service runtime binds as ``execution.job_id``. Status goes
queued → running → completed | failed, or → cancelled. Jobs still queued when the platform stops are
run after the next start; jobs that were running are marked failed.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import httpx

from flow_local._generated.models import Job, JobSubmit
from flow_local._generated.routers.jobs import JobsOperations
from flow_local.areas.services import HostedServicesBackend, host_of, target_process
from flow_local.auth import Principal, require_workspace
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.db import from_json, to_json
from flow_local.errors import ApiError, bad_request, not_found
from flow_local.runtime.services.context import CallerContext
from flow_local.values import new_id, now_iso

SCHEMA = [
    "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, workspace_id TEXT, service_id TEXT NOT NULL,"
    " endpoint_path TEXT NOT NULL, method TEXT NOT NULL, body TEXT, lane TEXT NOT NULL, status TEXT NOT NULL,"
    " caller TEXT NOT NULL, token TEXT, idempotency_key TEXT, created_at TEXT NOT NULL, started_at TEXT,"
    " finished_at TEXT, status_code INTEGER, result TEXT, error TEXT)",
    "CREATE UNIQUE INDEX jobs_idempotency ON jobs (org_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
    "CREATE INDEX jobs_queue ON jobs (status, created_at)",
]
DEFAULT_LANE_LIMITS = {"standard": 4, "priority": 8, "bulk": 1}
OTHER_LANE_LIMIT = 2
LANES_ENV = "FLOW_LOCAL_JOB_LANES"
_ERROR_EXCERPT = 500


def lane_limits_from_env(value: str | None = None) -> dict[str, int]:
    """Lane limits: the defaults, overridden by ``lane=limit`` pairs of ``FLOW_LOCAL_JOB_LANES``."""
    limits = dict(DEFAULT_LANE_LIMITS)
    raw = os.environ.get(LANES_ENV, "") if value is None else value
    for pair in filter(None, (part.strip() for part in raw.split(","))):
        lane, _, limit = pair.partition("=")
        if not lane.strip() or not limit.strip().isdigit() or int(limit) < 1:
            raise ValueError(f"{LANES_ENV}: '{pair}' must look like lane=limit with a limit of at least 1")
        limits[lane.strip()] = int(limit)
    return limits


class JobsBackend(JobsOperations[Call]):
    """Stored jobs."""

    def __init__(self, platform: Platform) -> None:
        platform.db.migrate("jobs", SCHEMA)
        self.platform = platform
        self.db = platform.db
        self.sealer = platform.sealer

    def create(
        self, org_id: str, service_id: str, body: JobSubmit, principal: Principal, key: str | None
    ) -> dict[str, Any]:
        """Queue a job; the same idempotency key returns the job it created first."""
        if key:
            existing = self.db.query_one(
                "SELECT job_id FROM jobs WHERE org_id=? AND idempotency_key=?", (org_id, key)
            )
            if existing is not None:
                return self.get(org_id, existing[0])
        caller = {
            "subject": principal.subject,
            "scopes": principal.scopes,
            "token_type": principal.token_type,
            "claims": principal.claims,
            "workspace_id": principal.workspace_id,
        }
        job_id = new_id()
        self.db.execute(
            "INSERT INTO jobs (job_id, org_id, workspace_id, service_id, endpoint_path, method, body, lane, status,"
            " caller, token, idempotency_key, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                job_id,
                org_id,
                principal.workspace_id,
                service_id,
                body.endpoint_path,
                body.method,
                to_json(body.body),
                body.lane,
                "queued",
                to_json(caller),
                self.sealer.seal(principal.token) if principal.token else None,
                key,
                now_iso(),
            ),
        )
        return self.get(org_id, job_id)

    def _row(self, row: Any) -> dict[str, Any]:
        item = dict(row)
        item["token"] = self.sealer.open(item["token"]) if item.get("token") else None
        item["body"] = from_json(item["body"])
        item["result"] = from_json(item["result"])
        item["caller"] = from_json(item["caller"], {})
        return item

    def get(self, org_id: str, job_id: str) -> dict[str, Any]:
        """One job of an org (404 when absent)."""
        row = self.db.query_one("SELECT * FROM jobs WHERE org_id=? AND job_id=?", (org_id, job_id))
        if row is None:
            raise not_found("job", job_id)
        return self._row(row)

    def queued(self) -> list[dict[str, Any]]:
        """Queued jobs, oldest first."""
        rows = self.db.query("SELECT * FROM jobs WHERE status='queued' ORDER BY created_at, rowid")
        return [self._row(r) for r in rows]

    def claim(self, job_id: str) -> bool:
        """Move a queued job to running; False when it is no longer queued."""
        return (
            self.db.execute(
                "UPDATE jobs SET status='running', started_at=? WHERE job_id=? AND status='queued'",
                (now_iso(), job_id),
            )
            == 1
        )

    def finish(
        self,
        job_id: str,
        status: str,
        *,
        status_code: int | None = None,
        result: Any = None,
        error: str | None = None,
    ) -> None:
        """Record a terminal status (only once)."""
        self.db.execute(
            "UPDATE jobs SET status=?, finished_at=?, status_code=?, result=?, error=? WHERE job_id=?"
            " AND status IN ('queued', 'running')",
            (status, now_iso(), status_code, to_json(result), error, job_id),
        )

    def fail_interrupted(self) -> None:
        """Mark jobs left running by a stopped platform as failed."""
        self.db.execute(
            "UPDATE jobs SET status='failed', finished_at=?, error='the platform stopped while the job ran'"
            " WHERE status='running'",
            (now_iso(),),
        )

    def _runner(self) -> JobRunner:
        runner = self.platform.component(JobRunner)
        if runner is None:
            raise ApiError(500, "internal_error", "the job runner is not running on this platform")
        return runner

    async def submit_job(
        self, call: Call, *, org_id: str, idempotency_key: str | None, body: JobSubmit
    ) -> Job:
        """Queue a call to a service endpoint (the same idempotency key returns the same job)."""
        principal = call.principal
        service_id = body.service_id or principal.service_id
        if not service_id:
            raise bad_request("service_id is required when the caller is not a hosted service", "service_id")
        workspace_id = self.platform.backend(HostedServicesBackend).workspace_of(org_id, service_id)
        require_workspace(principal, org_id, str(workspace_id))
        runner = self._runner()
        job = self.create(org_id, service_id, body, principal, idempotency_key)
        runner.dispatch()
        return render(self.get(org_id, job["job_id"]))

    def _visible(self, principal: Principal, org_id: str, job_id: str) -> dict[str, Any]:
        """A job of the org whose target service is in the token's workspace (404 otherwise)."""
        job = self.get(org_id, job_id)
        if principal.workspace_id is not None:
            services = self.platform.backend(HostedServicesBackend)
            if services.workspace_of(org_id, str(job["service_id"])) != principal.workspace_id:
                raise not_found("job", job_id)
        return job

    async def get_job(self, call: Call, *, org_id: str, job_id: str) -> Job:
        """One job of the organization."""
        return render(self._visible(call.principal, org_id, job_id))

    async def cancel_job(self, call: Call, *, org_id: str, job_id: str) -> Job:
        """Cancel a queued or running job."""
        self._visible(call.principal, org_id, job_id)
        return render(await self._runner().cancel(org_id, job_id))


def render(item: dict[str, Any]) -> Job:
    """A stored job as the document's `Job`."""
    return Job.model_validate(item)


class JobRunner:
    """The platform component that starts queued jobs within their lane limits."""

    def __init__(self, lane_limits: dict[str, int] | None = None) -> None:
        self.lane_limits = lane_limits if lane_limits is not None else lane_limits_from_env()
        self.platform: Platform | None = None
        self._running: dict[str, int] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def limit(self, lane: str) -> int:
        """How many jobs of ``lane`` may run at once."""
        return self.lane_limits.get(lane, OTHER_LANE_LIMIT)

    async def start(self, platform: Platform) -> None:
        """Fail jobs a previous run left running, then start what is queued."""
        self.platform = platform
        self._backend().fail_interrupted()
        self.dispatch()

    async def stop(self) -> None:
        """Cancel the running jobs (they are recorded as failed)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.platform is not None:
            self._backend().fail_interrupted()

    def _backend(self) -> JobsBackend:
        if self.platform is None:
            raise RuntimeError("the job runner is not started")
        return self.platform.backend(JobsBackend)

    def dispatch(self) -> None:
        """Start queued jobs, oldest first, while their lane has room."""
        backend = self._backend()
        for job in backend.queued():
            lane = job["lane"]
            if self._running.get(lane, 0) >= self.limit(lane) or not backend.claim(job["job_id"]):
                continue
            self._running[lane] = self._running.get(lane, 0) + 1
            self._tasks[job["job_id"]] = asyncio.create_task(self._run(job))

    async def _run(self, job: dict[str, Any]) -> None:
        backend = self._backend()
        try:
            status, code, result, error = await self._call(job)
            backend.finish(job["job_id"], status, status_code=code, result=result, error=error)
        except asyncio.CancelledError:
            backend.finish(job["job_id"], "cancelled", error="cancelled while running")
        except ApiError as exc:
            backend.finish(job["job_id"], "failed", status_code=exc.status, error=exc.detail)
        except Exception as exc:  # the job fails, the runner goes on
            backend.finish(job["job_id"], "failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            self._running[job["lane"]] -= 1
            self._tasks.pop(job["job_id"], None)
            if self.platform is not None:
                self.dispatch()

    async def _call(self, job: dict[str, Any]) -> tuple[str, int, Any, str | None]:
        """Send the job's request to its service; (status, HTTP status, result, error)."""
        assert self.platform is not None
        process = await target_process(self.platform, job["org_id"], job["service_id"], None)
        caller = job["caller"]
        context = CallerContext(
            subject_id=caller["subject"],
            scopes=caller["scopes"],
            token_type=caller["token_type"],
            custom_claims=caller.get("claims") or {},
            org_id=job["org_id"],
            workspace_id=caller.get("workspace_id"),
            request_id=f"job_{job['job_id']}",
            job_id=job["job_id"],
        )
        headers = {"content-type": "application/json"}
        if job["token"]:
            headers["authorization"] = f"Bearer {job['token']}"
        content = None if job["body"] is None else json.dumps(job["body"]).encode()
        try:
            response = await host_of(self.platform).send(
                process, job["method"], job["endpoint_path"], caller=context, headers=headers, content=content
            )
        except httpx.HTTPError as exc:
            return "failed", 502, None, f"the service did not answer: {type(exc).__name__}"
        result = _parse(response)
        if response.status_code >= 400:
            return (
                "failed",
                response.status_code,
                result,
                f"the service answered {response.status_code}: {response.text[:_ERROR_EXCERPT]}",
            )
        return "completed", response.status_code, result, None

    async def cancel(self, org_id: str, job_id: str) -> dict[str, Any]:
        """Cancel a queued job at once, or a running one by stopping its call; the job afterwards."""
        backend = self._backend()
        job = backend.get(org_id, job_id)
        if job["status"] == "queued":
            backend.finish(job_id, "cancelled", error="cancelled before it started")
        task = self._tasks.get(job_id)
        if job["status"] == "running" and task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return backend.get(org_id, job_id)


def _parse(response: httpx.Response) -> Any:
    if not response.content:
        return None
    if "json" in response.headers.get("content-type", ""):
        try:
            return response.json()
        except ValueError:
            pass
    return response.text


def job_runner_factory() -> JobRunner:
    """The factory registered in the app's component list."""
    return JobRunner()
