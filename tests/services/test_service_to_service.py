"""Service to service: frontdoor calls profile with the caller's token, through the platform's proxy."""

from __future__ import annotations

import httpx
import pytest

from flow_sdk import FlowSDKError

from .conftest import FRONTDOOR, PROFILE, Deployment


def frontdoor(deployment: Deployment, path: str, token: str, method: str = "GET") -> dict:
    response = httpx.request(
        method,
        deployment.service_url(FRONTDOOR, path),
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("path", ["/me", "/me/strict"])
def test_downstream_sees_the_original_caller_and_claims(deployment: Deployment, path: str) -> None:
    token = deployment.mint("dana", {"tenant_id": "t-42", "role": "editor"}, FRONTDOOR)
    body = frontdoor(deployment, path, token)
    assert body["frontdoor_saw"] == "dana"
    profile = body["profile"]
    assert profile["subject_id"] == "dana"
    assert profile["token_type"] == "service_token"
    assert profile["claims"] == {"tenant_id": "t-42", "role": "editor"}
    assert profile["service_id"] == PROFILE


def test_user_caller_is_forwarded_too(deployment: Deployment) -> None:
    body = frontdoor(deployment, "/me", deployment.user_token("erin"))
    assert body["profile"]["subject_id"] == "erin"
    assert body["profile"]["token_type"] == "user"


def test_call_without_reuse_runs_as_the_calling_service(deployment: Deployment) -> None:
    body = frontdoor(deployment, "/as-service", deployment.user_token("erin"))
    assert body["subject_id"] == f"service:{FRONTDOOR}"
    assert body["token_type"] == "service"


def test_pinned_downstream_version(deployment: Deployment) -> None:
    token = deployment.mint("fay", {}, FRONTDOOR)
    assert frontdoor(deployment, "/me/pinned/1", token)["version"] == 1
    assert frontdoor(deployment, "/me/pinned/2", token)["version"] == 2


def test_state_is_bound_to_the_service_component(deployment: Deployment) -> None:
    token = deployment.user_token("gus")
    first = frontdoor(deployment, "/visit/home", token, method="POST")
    second = frontdoor(deployment, "/visit/home", token, method="POST")
    assert second["visits"] == first["visits"] + 1


async def test_state_fails_closed_outside_a_service(deployment: Deployment) -> None:
    async with deployment.flow() as flow:
        with pytest.raises(FlowSDKError):
            await flow.state.get("visits:home")


async def test_strict_forwarding_ignores_a_caller_supplied_authorization(deployment: Deployment) -> None:
    """The test process plays a service: it binds an inbound token and calls profile through the proxy."""
    inbound = deployment.mint("hank", {"tenant_id": "t-7"}, PROFILE)
    async with deployment.flow() as flow:
        bound = flow.bind_request_context(auth={"token": inbound, "subject_id": "hank"})
        try:
            strict = await flow.services.get(
                "/whoami",
                service_id=PROFILE,
                auth="caller_service_token",
                headers={"Authorization": f"Bearer {deployment.user_token('mallory')}"},
            )
            reused = await flow.services.get("/whoami", service_id=PROFILE, reuse_service_token=True)
        finally:
            flow.reset_request_context(bound)
    assert strict["subject_id"] == "hank"
    assert strict["claims"] == {"tenant_id": "t-7"}
    assert reused["subject_id"] == "hank"


def test_cli_client_invokes_with_and_without_version(deployment: Deployment) -> None:
    latest = deployment.cli.invoke_service(PROFILE, "GET", "/whoami")
    pinned = deployment.cli.invoke_service(PROFILE, "GET", "whoami", version=1, query={"delay": 0})
    assert latest["version"] == 2
    assert pinned["version"] == 1
    assert pinned["subject_id"] == "local-admin"
    posted = deployment.cli.invoke_service(PROFILE, "POST", "/visits", body={"page": "cli"})
    assert posted["page"] == "cli"
