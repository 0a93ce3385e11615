"""The platform's ``x-should-retry`` answer header, and the SDK following it, end to end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import httpx
import pytest

from flow_local.harness import LocalPlatform
from flow_sdk import FlowSDK


@pytest.fixture(scope="module")
def limited() -> Iterator[LocalPlatform]:
    """A platform whose gateway allows one request per principal per second."""
    platform = LocalPlatform(gateway_rate_limit=1, rate_window_seconds=1.0).start()
    try:
        yield platform
    finally:
        platform.stop()


def _sdk(platform: LocalPlatform, max_retries: int) -> FlowSDK:
    env = platform.env()
    flow = FlowSDK(
        org_id=env["ORG_ID"],
        workspace_id=env["WORKSPACE_ID"],
        auth_token=env["AUTH_TOKEN"],
        platform_url=env["PLATFORM_API_URL"],
        gateway_url=env.get("GATEWAY_URL"),
    )
    return flow.with_options(max_retries=max_retries)


def test_a_rate_limited_answer_says_retry_and_a_missing_route_says_do_not(limited: LocalPlatform) -> None:
    env = limited.env()
    headers = {"Authorization": f"Bearer {env['AUTH_TOKEN']}"}
    body = {"model": "offline/chat", "messages": [{"role": "user", "content": "hi"}]}
    url = f"{env.get('GATEWAY_URL') or limited.url}/api/v1/gateway/v1/chat/completions"
    with httpx.Client(headers=headers, timeout=30) as client:
        answers = [client.post(url, json=body) for _ in range(2)]
        missing = client.get(f"{limited.url}/api/v1/no/such/route")
    assert answers[0].status_code == 200 and "x-should-retry" not in answers[0].headers
    assert answers[1].status_code == 429 and answers[1].headers["x-should-retry"] == "true"
    assert missing.status_code == 404 and missing.headers["x-should-retry"] == "false"


def test_the_sdk_retries_a_rate_limited_call_once_and_succeeds(
    limited: LocalPlatform, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> list[str]:
        async with _sdk(limited, max_retries=3) as flow:
            messages = [{"role": "user", "content": "first"}]
            first = await flow.gateway.chat_completion(model="offline/chat", messages=messages)
            second = await flow.gateway.chat_completion(model="offline/chat", messages=messages)
            return [first["id"], second["id"]]

    caplog.set_level(logging.INFO, logger="flow_sdk")
    ids = asyncio.run(main())
    assert len(set(ids)) == 2
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying POST")]
    assert len(retries) >= 1 and all("HTTP 429" in line for line in retries), retries
