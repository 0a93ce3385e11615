"""Guessing CLI approval codes is rate-limited; presigned signatures never reach the access log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from flow_local.harness import LocalPlatform


@pytest.fixture(scope="module")
def local() -> Iterator[LocalPlatform]:
    with LocalPlatform() as platform:
        yield platform


def _approve(local: LocalPlatform, token: str, code: str) -> httpx.Response:
    return httpx.post(
        f"{local.url}/api/v1/auth/cli-login-requests/approve",
        json={"user_code": code},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_guessing_approval_codes_is_cut_off(local: LocalPlatform) -> None:
    assert local.platform is not None
    guesser = local.platform.tokens.mint_user_token("guesser", local.org_id)
    pending = httpx.post(f"{local.url}/api/v1/auth/cli-login-requests").json()
    for attempt in range(10):
        assert _approve(local, guesser, f"AAAA-{attempt:04d}").status_code == 404
    refused = _approve(local, guesser, pending["user_code"])
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.json()["code"] == "rate_limited"
    someone_else = local.platform.tokens.mint_user_token("owner", local.org_id)
    assert _approve(local, someone_else, pending["user_code"]).status_code == 200


def test_presigned_signatures_are_redacted_from_the_access_log(
    local: LocalPlatform, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Authorization": f"Bearer {local.admin_token}"}
    with httpx.Client(base_url=local.url, headers=headers) as client:
        client.put(f"/api/v1/orgs/{local.org_id}/storage/objects/report.txt", content=b"r")
        url = client.post(
            f"/api/v1/orgs/{local.org_id}/storage/presign", json={"key": "report.txt", "method": "GET"}
        ).json()["url"]
    signature = url.split("signature=")[1]
    path = url.split(local.url, 1)[1]
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", path, "1.1", 200
        )
    assert caplog.records and signature not in caplog.text and "signature=[redacted]" in caplog.text
