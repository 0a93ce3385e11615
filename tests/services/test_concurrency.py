"""Fifty concurrent callers, each with its own minted service token: every handler sees only its caller."""

from __future__ import annotations

import asyncio

import httpx

from .conftest import FRONTDOOR, PROFILE, Deployment

CALLERS = 50


async def _call_all(deployment: Deployment, service_id: str) -> list[tuple[int, dict]]:
    tokens = [
        await asyncio.to_thread(deployment.mint, f"caller-{i}", {"tenant_id": f"t-{i}", "n": i}, service_id)
        for i in range(CALLERS)
    ]
    url = deployment.service_url(service_id, "/me" if service_id == FRONTDOOR else "/whoami")
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=CALLERS)) as client:

        async def one(i: int) -> tuple[int, dict]:
            response = await client.get(
                url, params={"delay": 0.2}, headers={"Authorization": f"Bearer {tokens[i]}"}
            )
            assert response.status_code == 200, response.text
            return i, response.json()

        return await asyncio.gather(*(one(i) for i in range(CALLERS)))


async def test_each_concurrent_handler_sees_its_own_caller(deployment: Deployment) -> None:
    for i, body in await _call_all(deployment, PROFILE):
        assert body["subject_id"] == f"caller-{i}"
        assert body["claims"] == {"tenant_id": f"t-{i}", "n": i}


async def test_concurrent_forwarding_keeps_callers_apart(deployment: Deployment) -> None:
    for i, body in await _call_all(deployment, FRONTDOOR):
        assert body["frontdoor_saw"] == f"caller-{i}"
        assert body["profile"]["subject_id"] == f"caller-{i}"
        assert body["profile"]["tenant_id"] == f"t-{i}"
