"""The gateway call log behind the console's page: what each call records, and that bad input stays a 4xx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from flow_local.console.gateway_log import GatewayCallLog
from flow_local.harness import LocalPlatform

CHAT = "/api/v1/gateway/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "two words"}]


@pytest.fixture(scope="module")
def lp() -> Iterator[LocalPlatform]:
    with LocalPlatform() as platform:
        yield platform


def _calls(lp: LocalPlatform, org_id: str) -> list[dict[str, object]]:
    assert lp.platform is not None
    return lp.platform.backend(GatewayCallLog).recent(org_id)


def test_calls_are_recorded_per_org_with_model_tokens_and_latency(lp: LocalPlatform) -> None:
    other = lp.create_tenant("Other org")
    with httpx.Client(base_url=lp.url, timeout=30) as client:
        answer = client.post(
            CHAT,
            json={"model": "offline/echo", "messages": MESSAGES},
            headers={"Authorization": f"Bearer {lp.admin_token}"},
        )
        streamed = client.post(
            CHAT,
            json={"model": "offline/echo", "messages": MESSAGES, "stream": True},
            headers={"Authorization": f"Bearer {other['token']}"},
        )
    assert answer.status_code == 200 and streamed.status_code == 200

    mine = _calls(lp, lp.org_id)[0]
    usage = answer.json()["usage"]
    assert mine["model"] == "offline/echo" and mine["operation"] == "chat/completions"
    assert mine["status"] == 200 and mine["provider"] == answer.headers["x-flow-provider"]
    assert (mine["prompt_tokens"], mine["total_tokens"]) == (usage["prompt_tokens"], usage["total_tokens"])
    assert float(mine["latency_ms"]) > 0  # type: ignore[arg-type]

    theirs = _calls(lp, other["org_id"])
    assert len(theirs) == 1 and theirs[0]["total_tokens"] is None  # a stream carries no usage to record
    assert all(call["subject"] != "tenant-admin" for call in _calls(lp, lp.org_id))


def test_a_malformed_request_is_still_a_4xx_and_recorded_without_a_model(lp: LocalPlatform) -> None:
    with httpx.Client(base_url=lp.url, timeout=30) as client:
        answer = client.post(
            CHAT,
            json={"model": {"not": "a string"}, "messages": MESSAGES},
            headers={"Authorization": f"Bearer {lp.admin_token}"},
        )
    assert 400 <= answer.status_code < 500, answer.text
    latest = _calls(lp, lp.org_id)[0]
    assert latest["model"] is None and latest["status"] == answer.status_code


def test_calls_without_a_valid_token_are_not_recorded(lp: LocalPlatform) -> None:
    before = len(_calls(lp, lp.org_id))
    with httpx.Client(base_url=lp.url, timeout=30) as client:
        answer = client.post(CHAT, json={"model": "offline/echo", "messages": MESSAGES})
    assert answer.status_code == 401
    assert len(_calls(lp, lp.org_id)) == before
