"""Code inside an execution holds NATS rights for its own events only, and only while it runs.

Its ``NATS_URL`` carries the user ``execution`` and its own token; the platform's auth callout turns
that into a user that may publish ``exec.events.{its id}`` and receive its own replies. The attacks:
publish for another execution, subscribe to everything, publish an output, and reuse the credentials
once the execution has ended.
"""

from __future__ import annotations

import asyncio
from typing import Any

import nats
import pytest

from flow_local.harness import LocalPlatform
from flow_sdk import CLIClient, FlowConfig

from .conftest import run_code

PUSH_OWN_AND_FOREIGN = """
import asyncio, json, os
import nats
from flow_sdk import PlatformClient

async def main(victim: str) -> dict:
    outcome = {"nats_url": os.environ["NATS_URL"]}
    async with PlatformClient() as client:
        await client.push_execution_event(None, os.environ["EXECUTION_ID"], "message", {"text": "from inside"})
        outcome["own_event"] = "published"
        try:
            await client.push_execution_event(None, victim, "message", {"text": "forged"})
            outcome["foreign_event"] = "published"
        except Exception as exc:
            outcome["foreign_event"] = f"refused: {exc}"
    errors = []

    async def on_error(exc):
        errors.append(str(exc))

    nc = await nats.connect(os.environ["NATS_URL"], error_cb=on_error, max_reconnect_attempts=0)
    try:
        await nc.subscribe("exec.>")
        await nc.publish(f"exec.output.{victim}", json.dumps({"execution_id": victim, "output": "forged"}).encode())
        await nc.flush(timeout=3)
        await asyncio.sleep(0.5)
    except Exception as exc:
        errors.append(str(exc))
    finally:
        await nc.close()
    outcome["wildcard_and_output"] = errors
    return outcome
"""


def _cli(lp: LocalPlatform) -> CLIClient:
    return CLIClient(
        FlowConfig(
            platform_url=lp.url, access_token=lp.admin_token, org_id=lp.org_id, workspace_id=lp.workspace_id
        )
    )


async def _connect(url: str) -> str:
    """Try the credentials of ``url``: 'connected' or why the server refused."""
    try:
        client = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3)
    except Exception as exc:
        return f"refused: {exc}"
    await client.close()
    return "connected"


@pytest.fixture(scope="module")
def attack(lp: LocalPlatform) -> dict[str, Any]:
    victim = run_code(lp, "def main() -> str:\n    return 'genuine'\n", {}, "cb-nats-victim")
    assert victim["output"] == "genuine"
    before = _cli(lp).list_execution_events(victim["execution_id"])
    result = run_code(lp, PUSH_OWN_AND_FOREIGN, {"victim": victim["execution_id"]}, "cb-nats-rights")
    assert result["status"] == "completed", result
    return {"victim": victim, "before": before, "result": result}


def test_a_code_block_pushes_its_own_event_and_the_sdk_sees_it(
    lp: LocalPlatform, attack: dict[str, Any]
) -> None:
    result = attack["result"]
    assert result["output"]["own_event"] == "published"
    events = _cli(lp).list_execution_events(result["execution_id"])
    assert {"text": "from inside"} in [event["data"] for event in events], events


def test_it_cannot_publish_or_listen_for_another_execution(lp: LocalPlatform, attack: dict[str, Any]) -> None:
    output = attack["result"]["output"]
    assert output["foreign_event"].startswith("refused"), output
    violations = output["wildcard_and_output"]
    assert any("permissions violation for subscription" in e.lower() for e in violations), violations
    assert any("permissions violation for publish" in e.lower() for e in violations), violations
    victim_id = attack["victim"]["execution_id"]
    assert _cli(lp).list_execution_events(victim_id) == attack["before"]
    assert _cli(lp).get_execution_result(victim_id)["output"] == "genuine"


def test_its_credentials_die_with_the_execution(attack: dict[str, Any]) -> None:
    url = attack["result"]["output"]["nats_url"]
    outcome = asyncio.run(_connect(url))
    assert outcome.startswith("refused") and "Authorization Violation" in outcome, outcome


def test_other_credentials_are_refused(lp: LocalPlatform, attack: dict[str, Any]) -> None:
    """A made-up execution user, the platform's token of a user, and no password at all."""
    url = attack["result"]["output"]["nats_url"]
    host = url.rsplit("@", 1)[1]
    for candidate in (
        f"nats://execution:not-a-token@{host}",
        f"nats://execution:{lp.admin_token}@{host}",
        f"nats://{host}",
    ):
        outcome = asyncio.run(_connect(candidate))
        assert outcome.startswith("refused") and "Authorization Violation" in outcome, (candidate, outcome)
