"""Front door: the public entry that calls the profile service on behalf of its own caller.

Deploy it with ``flow local services deploy frontdoor examples/frontdoor_service --app main:app
--env PROFILE_SERVICE_ID=profile``.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

from flow_sdk import FlowSDK

flow = FlowSDK()
app = FastAPI(title="Front door")
PROFILE = os.environ.get("PROFILE_SERVICE_ID", "profile")


@app.get("/me", summary="Who the profile service says our caller is (caller token reused)")
async def me(delay: float = 0.0) -> dict[str, Any]:
    """Forward our caller's token to the profile service, so it sees the original caller."""
    profile = await flow.services.get(
        "/whoami", service_id=PROFILE, query={"delay": delay}, reuse_service_token=True
    )
    return {"frontdoor_saw": flow.auth.subject_id, "profile": profile}


@app.get("/me/strict", summary="The same with strict caller-token forwarding")
async def me_strict() -> dict[str, Any]:
    """Forward the caller's token; an Authorization header of our own could not replace it."""
    profile = await flow.services.get(
        "/whoami",
        service_id=PROFILE,
        auth="caller_service_token",
        headers={"Authorization": "Bearer this-header-is-ignored"},
    )
    return {"frontdoor_saw": flow.auth.subject_id, "profile": profile}


@app.get("/me/pinned/{version}", summary="Ask one pinned version of the profile service")
async def me_pinned(version: int) -> dict[str, Any]:
    """Call a given version of the profile service with the caller's token."""
    return await flow.services.call(
        "GET", "/whoami", service_id=PROFILE, version=version, reuse_service_token=True
    )


@app.get("/as-service", summary="Call the profile service as this service, not as the caller")
async def as_service() -> dict[str, Any]:
    """Call with the service's own runtime token."""
    return await flow.services.get("/whoami", service_id=PROFILE)


@app.post("/visit/{page}", summary="Record a page visit in the profile service")
async def visit(page: str) -> dict[str, Any]:
    """POST to the profile service with the caller's token."""
    return await flow.services.post(
        "/visits", body={"page": page}, service_id=PROFILE, reuse_service_token=True
    )


@app.post("/reports/{name}", summary="Queue a report on the profile service as an async job")
async def queue_report(name: str, seconds: float = 0.2) -> dict[str, Any]:
    """Submit a job that calls the profile service's /reports endpoint."""
    job = await flow.jobs.submit("/reports", body={"name": name, "seconds": seconds}, service_id=PROFILE)
    return {"job_id": job["job_id"], "status": job["status"]}
