"""The service proxy's inbound auth: who may call a hosted service, and what the service is told."""

from __future__ import annotations

import base64
import json

import httpx
import jwt
import pytest

from flow_local.runtime.services.host import ServiceHost, VersionKey

from .conftest import FRONTDOOR, PROFILE, Deployment


def whoami(deployment: Deployment, token: str | None, **headers: str) -> httpx.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.get(deployment.service_url(PROFILE, "/whoami"), headers=headers, timeout=10)


def test_unauthenticated_call_is_401(deployment: Deployment) -> None:
    response = whoami(deployment, None)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.headers["x-request-id"] == response.json()["request_id"]


def test_user_token_reaches_the_service_with_its_identity(deployment: Deployment) -> None:
    response = whoami(deployment, deployment.user_token("alice"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject_id"] == "alice"
    assert body["token_type"] == "user"
    assert body["service_id"] == PROFILE
    assert body["caller_token_present"] is True


def test_service_token_claims_reach_the_service(deployment: Deployment) -> None:
    token = deployment.mint("bob", {"tenant_id": "t-123", "role": "reader"}, PROFILE)
    body = whoami(deployment, token).json()
    assert body["subject_id"] == "bob"
    assert body["token_type"] == "service_token"
    assert body["claims"] == {"tenant_id": "t-123", "role": "reader"}
    assert body["tenant_id"] == "t-123"


def test_expired_service_token_is_rejected(deployment: Deployment) -> None:
    assert deployment.lp.platform is not None
    expired = deployment.lp.platform.tokens.mint_service_token(
        org_id=deployment.org_id,
        workspace_id=None,
        service_id=PROFILE,
        subject="bob",
        claims={},
        ttl_seconds=-5,
    )
    response = whoami(deployment, expired)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_service_token_for_another_service_is_rejected(deployment: Deployment) -> None:
    foreign = deployment.mint("bob", {"tenant_id": "t-1"}, FRONTDOOR)
    response = whoami(deployment, foreign)
    assert response.status_code == 401
    assert FRONTDOOR in response.json()["detail"]


def _tamper(token: str, **changes: object) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


def test_tampered_service_token_is_rejected(deployment: Deployment) -> None:
    token = deployment.mint("bob", {"tenant_id": "t-1"}, PROFILE)
    tampered = _tamper(token, claims={"tenant_id": "t-admin"}, sub="root")
    assert whoami(deployment, tampered).status_code == 401
    wrong_key = jwt.encode(
        jwt.decode(token, options={"verify_signature": False}), "x" * 32, algorithm="HS256"
    )
    assert whoami(deployment, wrong_key).status_code == 401


def test_forwarded_by_header_does_not_make_a_foreign_token_valid(deployment: Deployment) -> None:
    assert deployment.lp.platform is not None
    foreign = deployment.mint("bob", {}, FRONTDOOR)
    user = deployment.user_token("mallory")
    profile_runtime = deployment.lp.platform.tokens.mint_service_runtime_token(
        org_id=deployment.org_id, workspace_id=deployment.lp.workspace_id, service_id=PROFILE
    )
    for forwarder in (user, profile_runtime, "garbage"):
        response = whoami(deployment, foreign, **{"X-Flow-Forwarded-By": f"Bearer {forwarder}"})
        assert response.status_code == 401, forwarder


def test_caller_supplied_context_header_has_no_effect(deployment: Deployment) -> None:
    forged = jwt.encode({"sub": "root", "scopes": ["superuser"], "exp": 2**31}, "g" * 32, algorithm="HS256")
    body = whoami(deployment, deployment.user_token("carol"), **{"X-Flow-Context": forged}).json()
    assert body["subject_id"] == "carol"
    assert "superuser" not in body["scopes"]


def test_token_of_another_org_is_forbidden(deployment: Deployment) -> None:
    other = deployment.lp.create_tenant("Other org")
    assert whoami(deployment, other["token"]).status_code == 403


async def test_service_process_refuses_requests_that_bypass_the_platform(deployment: Deployment) -> None:
    assert deployment.lp.platform is not None
    host = deployment.lp.platform.component(ServiceHost)
    assert host is not None
    process = await host.process(VersionKey(deployment.org_id, PROFILE, 1))
    assert process is not None
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{process.url}/whoami", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 401


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_unknown_service_is_404_after_auth(deployment: Deployment, method: str) -> None:
    url = deployment.service_url("no-such-service", "/x")
    token = deployment.user_token("alice")
    assert httpx.request(method, url, headers={"Authorization": f"Bearer {token}"}).status_code == 404
    assert httpx.request(method, url).status_code == 401
