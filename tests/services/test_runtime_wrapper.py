"""The runtime wrapper in-process (no platform): context verification and per-request binding."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from flow_local.runtime.services.context import CallerContext, new_context_key, sign_context
from flow_local.runtime.services.wrapper import HEALTH_PATH, FlowRuntimeMiddleware
from flow_sdk import FlowSDK

KEY = new_context_key()
SERVICE = {"service_id": "svc", "component_id": "comp", "version": 3}


def build() -> tuple[FlowSDK, httpx.AsyncClient]:
    flow = FlowSDK(org_id="o", workspace_id="w", auth_token="t", platform_url="http://127.0.0.1:9")
    app = FastAPI()

    @app.get("/ctx")
    async def ctx(delay: float = 0) -> dict:
        await asyncio.sleep(delay)
        return {
            **flow._request_context(),
            "subject": flow.auth.subject_id,
            "token": flow.service.auth.token(),
        }

    wrapped = FlowRuntimeMiddleware(
        app, context_key=KEY, source_dir=Path("."), service=SERVICE, flows=lambda: [flow]
    )
    return flow, httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://svc")


def context_header(subject: str, key: str = KEY, job_id: str | None = None) -> dict[str, str]:
    caller = CallerContext(
        subject_id=subject, scopes=["read"], token_type="user", request_id="r-1", job_id=job_id
    )
    return {"x-flow-context": sign_context(caller, key), "authorization": f"Bearer token-of-{subject}"}


async def test_binds_auth_service_and_job_then_resets() -> None:
    flow, client = build()
    async with client:
        body = (await client.get("/ctx", headers=context_header("ann", job_id="job-9"))).json()
    assert body["subject"] == "ann" and body["token"] == "token-of-ann"
    assert body["service"] == SERVICE
    assert body["execution"] == {"execution_id": None, "request_id": "r-1", "job_id": "job-9"}
    assert "x-flow-context" not in body["headers"]
    assert flow.auth.subject_id is None


@pytest.mark.parametrize(
    "headers", [{}, context_header("eve", key=new_context_key()), {"x-flow-context": "junk"}]
)
async def test_requests_without_a_valid_context_are_refused(headers: dict[str, str]) -> None:
    _, client = build()
    async with client:
        assert (await client.get("/ctx", headers=headers)).status_code == 401
        assert (await client.get(HEALTH_PATH)).status_code == 200


async def test_concurrent_requests_are_isolated() -> None:
    _, client = build()
    async with client:
        responses = await asyncio.gather(
            *(
                client.get("/ctx", params={"delay": 0.01 * (i % 5)}, headers=context_header(f"u{i}"))
                for i in range(30)
            )
        )
    assert [r.json()["subject"] for r in responses] == [f"u{i}" for i in range(30)]
