"""An execution's token ends with the execution, and cannot mint tokens that outlive it."""

from __future__ import annotations

import time

import jwt

from flow_local.harness import LocalPlatform

from .conftest import run_code, workspace_api

LEAK_TOKEN = """
import os, httpx

def main(org_id: str) -> dict:
    token = os.environ["AUTH_TOKEN"]
    minted = httpx.post(
        f"{os.environ['PLATFORM_API_URL']}/api/v1/orgs/{org_id}/service-tokens",
        json={"service_id": "svc-any", "claims": {"role": "admin"}, "ttl_minutes": 10080},
        headers={"Authorization": f"Bearer {token}"},
    )
    minted.raise_for_status()
    return {"token": token, "service_token": minted.json()["token"]}
"""


def test_a_used_execution_token_is_refused_once_the_execution_ended(lp: LocalPlatform) -> None:
    result = run_code(lp, LEAK_TOKEN, {"org_id": lp.org_id}, "cb-leak")
    assert result["status"] == "completed", result
    token = result["output"]["token"]
    with workspace_api(lp, token) as client:
        for response in (
            client.get("/executions"),
            client.get("/secrets"),
            client.post(
                "/executions",
                json={
                    "component_type": "code_block",
                    "component_id": "cb-leak",
                    "input": {},
                    "ring_id": lp.ring_id,
                },
            ),
            client.post(f"{lp.url}/api/v1/orgs/{lp.org_id}/service-tokens", json={"service_id": "svc-any"}),
        ):
            assert response.status_code == 401, response.text
            assert "has ended" in response.json()["detail"]


def test_a_service_token_minted_by_an_execution_ends_with_it(lp: LocalPlatform) -> None:
    result = run_code(lp, LEAK_TOKEN, {"org_id": lp.org_id}, "cb-leak-2")
    token, service_token = result["output"]["token"], result["output"]["service_token"]
    own = jwt.decode(token, options={"verify_signature": False})
    minted = jwt.decode(service_token, options={"verify_signature": False})
    assert minted["exp"] <= own["exp"] < time.time() + 3600
    assert minted["execution_id"] == own["execution_id"]
    assert lp.platform is not None
    assert lp.platform.tokens.execution_ended(own["execution_id"])
    try:
        lp.platform.tokens.check_live(lp.platform.tokens.verify(service_token, audience="service:svc-any"))
    except Exception as exc:
        assert "has ended" in str(exc)
    else:
        raise AssertionError("the service token minted by an ended execution still verifies")
