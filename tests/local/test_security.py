"""Security: path-traversal keys, tampered and expired presigned URLs, forged, expired and alg=none JWTs."""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
import pytest

from flow_local.harness import LocalPlatform


@pytest.mark.parametrize(
    "raw_key", ["..%2Fescape", "a/%2E%2E/b", "%2Fetc%2Fpasswd", "a//b", "a/%2E/b", "a%5C..%5Cb"]
)
def test_storage_rejects_unsafe_keys(local: LocalPlatform, client: httpx.Client, raw_key: str) -> None:
    url = f"{local.url}/api/v1/orgs/{local.org_id}/storage/objects/{raw_key}"
    response = client.send(client.build_request("PUT", httpx.URL(url), content=b"x"))
    assert response.status_code == 400, (raw_key, response.text)
    assert response.json()["field"] == "key"


def test_presigned_urls_are_checked(local: LocalPlatform, client: httpx.Client) -> None:
    org = f"/api/v1/orgs/{local.org_id}"
    client.put(f"{org}/storage/objects/docs/a.txt", content=b"secret")
    signed = client.post(
        f"{org}/storage/presign", json={"key": "docs/a.txt", "method": "GET", "ttl_seconds": 60}
    ).json()
    assert httpx.get(signed["url"]).content == b"secret"
    tampered = signed["url"].replace("docs/a.txt", "docs/b.txt")
    assert httpx.get(tampered).status_code == 403
    bad_sig = signed["url"][:-4] + "0000"
    assert httpx.get(bad_sig).status_code == 403
    later = signed["url"].replace("expires=", "expires=9")
    assert httpx.get(later).status_code == 403
    assert httpx.put(signed["url"], content=b"overwrite").status_code == 403  # a GET URL does not allow PUT
    put = client.post(
        f"{org}/storage/presign", json={"key": "docs/up.bin", "method": "PUT", "ttl_seconds": 60}
    ).json()
    assert httpx.put(put["url"], content=b"uploaded").status_code == 200
    assert client.get(f"{org}/storage/objects/docs/up.bin").content == b"uploaded"


def test_expired_presigned_url(local: LocalPlatform, client: httpx.Client) -> None:
    assert local.platform is not None
    from flow_local.areas.storage import StorageBackend

    storage = local.platform.backend(StorageBackend)
    client.put(f"/api/v1/orgs/{local.org_id}/storage/objects/old.txt", content=b"x")
    expires = int(time.time()) - 5
    signature = storage._signature("GET", local.org_id, "old.txt", expires)
    url = f"{local.url}/api/v1/orgs/{local.org_id}/storage/objects/old.txt?expires={expires}&signature={signature}"
    response = httpx.get(url)
    assert response.status_code == 403 and "expired" in response.json()["detail"]


def _claims(local: LocalPlatform, **extra: object) -> dict[str, object]:
    now = int(time.time())
    return {
        "sub": "x",
        "org_id": local.org_id,
        "scopes": ["admin"],
        "token_type": "user",
        "iat": now,
        "exp": now + 600,
        "jti": "j",
        **extra,
    }


def _me(local: LocalPlatform, token: str) -> httpx.Response:
    return httpx.get(f"{local.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_forged_token_is_refused(local: LocalPlatform) -> None:
    forged = jwt.encode(_claims(local), b"not-the-platform-key-0123456789", algorithm="HS256")
    response = _me(local, forged)
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"


def test_expired_token_is_refused(local: LocalPlatform) -> None:
    assert local.platform is not None
    expired = local.platform.tokens.mint_user_token("x", local.org_id, ttl_seconds=-10)
    response = _me(local, expired)
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_alg_none_token_is_refused(local: LocalPlatform) -> None:
    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(_claims(local))}."
    assert _me(local, unsigned).status_code == 401


def test_service_token_is_refused_by_the_platform_api(local: LocalPlatform, client: httpx.Client) -> None:
    minted = client.post(
        f"/api/v1/orgs/{local.org_id}/service-tokens",
        json={"claims": {"role": "reader"}, "service_id": "svc"},
    ).json()
    assert _me(local, minted["token"]).status_code == 401
    assert local.platform is not None
    claims = local.platform.tokens.verify(minted["token"], audience="service:svc")
    assert claims.claims == {"role": "reader"} and claims.token_type == "service_token"


def test_runtime_tokens_cannot_write_secrets(
    local: LocalPlatform, client: httpx.Client, ws_path: str
) -> None:
    assert local.platform is not None
    sleeper = {
        "id": "cb-sleeper",
        "name": "sleeper",
        "spec": {"source": "import time\n\ndef main():\n    time.sleep(60)\n"},
    }
    assert client.post(f"{ws_path}/components/code_block", json=sleeper).status_code == 201
    submitted = client.post(
        f"{ws_path}/executions",
        json={
            "component_type": "code_block",
            "component_id": "cb-sleeper",
            "input": {},
            "ring_id": local.ring_id,
        },
    ).json()
    token = local.platform.tokens.mint_execution_token(
        org_id=local.org_id, workspace_id=local.workspace_id, execution_id=submitted["execution_id"]
    )
    try:
        with httpx.Client(base_url=local.url, headers={"Authorization": f"Bearer {token}"}) as c:
            assert c.put(f"{ws_path}/secrets/X", json={"value": "v"}).status_code == 403
            assert c.delete(f"{ws_path}/secrets/X").status_code == 403
            assert c.get(f"{ws_path}/secrets/NOPE").status_code == 404
    finally:
        client.post(f"{ws_path}/executions/{submitted['execution_id']}/cancel")
