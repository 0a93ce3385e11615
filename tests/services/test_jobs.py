"""Async jobs: submit, status to completion, cancel (queued and running), lane limits, JOB_ID binding."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from flow_sdk import FlowSDK, PlatformClientError

from .conftest import FRONTDOOR, PROFILE, Deployment

TERMINAL = {"completed", "failed", "cancelled"}


async def wait_for(flow: FlowSDK, job_id: str, statuses: set[str], timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await flow.jobs.get_status(job_id)
        if job["status"] in statuses:
            return dict(job)
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not reach {statuses}: {job}")


async def test_job_runs_to_completion_with_its_job_id_bound(deployment: Deployment) -> None:
    async with deployment.flow() as flow:
        job = await flow.jobs.submit("/reports", body={"name": "q4", "seconds": 0.1}, service_id=PROFILE)
        assert job["status"] in {"queued", "running"} and job["lane"] == "standard"
        done = await wait_for(flow, job["job_id"], TERMINAL)
    assert done["status"] == "completed", done
    assert done["status_code"] == 200
    assert done["result"] == {"name": "q4", "job_id": job["job_id"], "requested_by": "local-admin"}
    assert done["started_at"] and done["finished_at"]


async def test_service_submits_a_job_for_itself_and_others(deployment: Deployment) -> None:
    response = httpx.post(
        deployment.service_url(FRONTDOOR, "/reports/weekly"),
        params={"seconds": 0.05},
        headers={"Authorization": f"Bearer {deployment.user_token('jack')}"},
        timeout=15,
    )
    assert response.status_code == 200, response.text
    async with deployment.flow() as flow:
        done = await wait_for(flow, response.json()["job_id"], TERMINAL)
    assert done["status"] == "completed"
    assert done["result"]["requested_by"] == f"service:{FRONTDOOR}"


async def test_cancel_running_and_queued_jobs(deployment: Deployment) -> None:
    async with deployment.flow() as flow:
        lane = "cancel-test"  # an unlisted lane: 2 at a time
        running = [
            await flow.jobs.submit("/reports", body={"seconds": 10}, service_id=PROFILE, lane=lane)
            for _ in range(2)
        ]
        queued = await flow.jobs.submit("/reports", body={"seconds": 10}, service_id=PROFILE, lane=lane)
        await wait_for(flow, running[0]["job_id"], {"running"})
        assert (await flow.jobs.get_status(queued["job_id"]))["status"] == "queued"
        cancelled_queued = await flow.jobs.cancel(queued["job_id"])
        assert cancelled_queued["status"] == "cancelled" and cancelled_queued["started_at"] is None
        for job in running:
            await wait_for(flow, job["job_id"], {"running"})
            assert (await flow.jobs.cancel(job["job_id"]))["status"] == "cancelled"
        again = await flow.jobs.cancel(queued["job_id"])
        assert again["status"] == "cancelled"


def _max_overlap(jobs: list[dict[str, Any]]) -> int:
    events = []
    for job in jobs:
        events.append((datetime.fromisoformat(job["started_at"]), 1))
        events.append((datetime.fromisoformat(job["finished_at"]), -1))
    current = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        current += step
        peak = max(peak, current)
    return peak


async def test_lanes_limit_concurrency(deployment: Deployment) -> None:
    async with deployment.flow() as flow:
        bulk = [
            await flow.jobs.submit("/reports", body={"seconds": 0.3}, service_id=PROFILE, lane="bulk")
            for _ in range(3)
        ]
        standard = [
            await flow.jobs.submit("/reports", body={"seconds": 0.3}, service_id=PROFILE) for _ in range(4)
        ]
        bulk_done = [await wait_for(flow, j["job_id"], TERMINAL) for j in bulk]
        standard_done = [await wait_for(flow, j["job_id"], TERMINAL) for j in standard]
    assert all(j["status"] == "completed" for j in bulk_done + standard_done)
    assert _max_overlap(bulk_done) == 1
    assert _max_overlap(standard_done) > 1


async def test_submit_errors(deployment: Deployment) -> None:
    async with deployment.flow() as flow:
        with pytest.raises(PlatformClientError) as missing:
            await flow.jobs.submit("/reports", body={})
        assert missing.value.status_code == 400
        with pytest.raises(PlatformClientError) as unknown:
            await flow.jobs.submit("/reports", service_id="no-such-service")
        assert unknown.value.status_code == 404
        with pytest.raises(PlatformClientError) as absent:
            await flow.jobs.get_status("no-such-job")
        assert absent.value.status_code == 404


def test_idempotency_key_returns_the_same_job(deployment: Deployment) -> None:
    url = f"{deployment.lp.url}/api/v1/orgs/{deployment.org_id}/jobs"
    headers = {"Authorization": f"Bearer {deployment.lp.admin_token}", "Idempotency-Key": "report-once"}
    body = {"endpoint_path": "/reports", "service_id": PROFILE, "body": {"seconds": 0}}
    first = httpx.post(url, json=body, headers=headers)
    second = httpx.post(url, json=body, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["job_id"] == second.json()["job_id"]
