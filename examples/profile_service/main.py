"""Profile service: tells callers who they are, counts page visits in its state, builds reports.

Deploy it with ``flow local services deploy profile examples/profile_service --app main:app``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel

from flow_sdk import FlowSDK

flow = FlowSDK()  # configured by the platform; the runtime binds each request's caller on it
app = FastAPI(title="Profile service")


@app.get("/whoami", summary="The caller's identity as the platform verified it")
async def whoami(delay: float = 0.0) -> dict[str, Any]:
    """Return the caller's subject, scopes and claims (``delay`` seconds later, to overlap requests)."""
    if delay > 0:
        await asyncio.sleep(min(delay, 5.0))
    return {
        "subject_id": flow.auth.subject_id,
        "scopes": flow.auth.scopes,
        "token_type": flow.auth.token_type,
        "claims": flow.auth.custom_claims,
        "tenant_id": flow.auth.claim("tenant_id"),
        "service_id": flow.service.service_id,
        "version": flow.service.version,
        "caller_token_present": flow.service.auth.token() is not None,
    }


class Visit(BaseModel):
    """A page visit."""

    page: str


@app.post("/visits", summary="Count a visit to a page")
async def count_visit(visit: Visit) -> dict[str, Any]:
    """Increment the page's counter in this service's state and return it."""
    key = f"visits:{visit.page}"
    visits = int(await flow.state.get(key, 0)) + 1
    await flow.state.set(key, visits)
    return {"page": visit.page, "visits": visits}


class ReportRequest(BaseModel):
    """What report to build and how long the (simulated) work takes."""

    name: str = "report"
    seconds: float = 0.2


@app.post("/reports", summary="Build a report; slow, so submit it as an async job")
async def build_report(report: ReportRequest, request: Request) -> dict[str, Any]:
    """Simulate heavy work, then say which job built the report for whom."""
    await asyncio.sleep(min(report.seconds, 30.0))
    return {
        "name": report.name,
        "job_id": request.headers.get("x-flow-job-id"),
        "requested_by": flow.auth.subject_id,
    }
