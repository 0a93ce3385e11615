"""The verified-token cache of TokenSigner and the async principal dependency (real EdDSA tokens)."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from flow_local.auth import GrantCache, SingleKey, TokenSigner, get_principal
from flow_local.errors import ApiError
from flow_local.harness import LocalPlatform


def test_a_verified_token_is_remembered_and_gives_the_same_principal() -> None:
    signer = TokenSigner(SingleKey())
    token = signer.mint_user_token("user-1", "org-1", "ws-1")
    first = signer.verify(token)
    second = signer.verify(token)
    assert second is first
    assert (first.subject, first.org_id, first.workspace_id) == ("user-1", "org-1", "ws-1")


def test_an_expired_cached_token_is_rejected_with_the_usual_401() -> None:
    signer = TokenSigner(SingleKey())
    token = signer.mint_user_token("user-1", "org-1", ttl_seconds=1)
    assert signer.verify(token).subject == "user-1"
    time.sleep(max(0.0, signer.verify(token).expires_at - time.time()) + 0.05)
    with pytest.raises(ApiError) as caught:
        signer.verify(token)
    assert (caught.value.status, caught.value.detail) == (401, "the bearer token has expired")


def test_the_audience_is_part_of_the_cache_key() -> None:
    signer = TokenSigner(SingleKey())
    token = signer.mint_service_token(
        org_id="org-1", workspace_id="ws-1", service_id="svc", subject="caller", claims={"tier": "gold"}
    )
    assert signer.verify(token, audience="service:svc").claims == {"tier": "gold"}
    with pytest.raises(ApiError) as caught:
        signer.verify(token)
    assert caught.value.status == 401
    with pytest.raises(ApiError):
        signer.verify(token, audience="service:other")


def test_a_token_of_another_key_is_never_accepted_even_after_a_good_one() -> None:
    signer = TokenSigner(SingleKey())
    good = signer.mint_user_token("user-1", "org-1")
    signer.verify(good)
    forged = TokenSigner(SingleKey()).mint_user_token("user-1", "org-1")
    for _ in range(2):
        with pytest.raises(ApiError) as caught:
            signer.verify(forged)
        assert caught.value.status == 401
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    with pytest.raises(ApiError):
        signer.verify(tampered)


def test_get_principal_is_a_coroutine_function() -> None:
    import inspect

    assert inspect.iscoroutinefunction(get_principal)


def test_auth_errors_through_the_api_are_unchanged(local: LocalPlatform) -> None:
    ws = f"{local.url}/api/v1/orgs/{local.org_id}/workspaces/{local.workspace_id}"
    url = f"{ws}/state/comp/keys/k"
    missing = httpx.get(url, headers={"X-Request-Id": "req-check-1"})
    assert missing.status_code == 401
    assert missing.headers["x-request-id"] == "req-check-1"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json() == {
        "detail": "missing bearer token: send 'Authorization: Bearer <token>'",
        "code": "unauthorized",
        "request_id": "req-check-1",
        "field": None,
    }
    bad = jwt.encode({"sub": "x"}, "y" * 32, algorithm="HS256")
    wrong = httpx.get(url, headers={"Authorization": f"Bearer {bad}"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "unauthorized"
    assert wrong.headers["x-request-id"].startswith("req_")
    good = {"Authorization": f"Bearer {local.admin_token}"}
    for _ in range(2):
        assert httpx.get(url, headers=good).status_code == 404


def test_a_tenancy_grant_is_kept_per_token_place_and_until_the_token_expires() -> None:
    signer = TokenSigner(SingleKey())
    bound = signer.verify(signer.mint_user_token("user-1", "org-1", "ws-1"))
    other = signer.verify(signer.mint_user_token("user-2", "org-1", "ws-1"))
    grants = GrantCache()
    grants.grant(bound, "org-1", "ws-1")
    assert grants.granted(bound, "org-1", "ws-1")
    assert not grants.granted(bound, "org-1", "ws-2")
    assert not grants.granted(bound, "org-1")
    assert not grants.granted(other, "org-1", "ws-1"), "another token is checked on its own"
    short = signer.verify(signer.mint_user_token("user-3", "org-1", "ws-1", ttl_seconds=1))
    grants.grant(short, "org-1", "ws-1")
    time.sleep(max(0.0, short.expires_at - time.time()) + 0.05)
    assert not grants.granted(short, "org-1", "ws-1")


def test_the_grant_cache_is_bounded_dropping_the_oldest() -> None:
    signer = TokenSigner(SingleKey())
    principals = [signer.verify(signer.mint_user_token(f"user-{n}", "org-1")) for n in range(3)]
    grants = GrantCache(size=2)
    for principal in principals:
        grants.grant(principal, "org-1")
    assert [grants.granted(p, "org-1") for p in principals] == [False, True, True]


def test_a_refusal_is_never_remembered_through_the_api(local: LocalPlatform) -> None:
    other = local.create_tenant("Grant cache")
    token = {"Authorization": f"Bearer {local.admin_token}"}
    mine = f"{local.url}/api/v1/orgs/{local.org_id}/workspaces/{local.workspace_id}/state/c/keys/k"
    theirs = f"{local.url}/api/v1/orgs/{other['org_id']}/workspaces/{other['workspace_id']}/state/c/keys/k"
    absent = f"{local.url}/api/v1/orgs/{local.org_id}/workspaces/no-such-workspace/state/c/keys/k"
    for _ in range(2):
        assert httpx.get(mine, headers=token).status_code == 404  # granted: the key is absent
        assert httpx.get(theirs, headers=token).status_code == 403
        assert httpx.get(absent, headers=token).status_code == 404
        assert httpx.get(absent, headers=token).json()["detail"].startswith("workspace")
