"""Many awaited results share one held request: POST .../execution-results and the SDK's waiter."""

from __future__ import annotations

import asyncio

import httpx

from flow_local.harness import LocalPlatform

from .conftest import api, counted_flow, create_component

DOUBLE = "def main(x: int) -> dict:\n    return {'double': 2 * x}\n"
SLEEPY = "import time\n\n\ndef main(seconds: float) -> dict:\n    time.sleep(seconds)\n    return {'slept': seconds}\n"
RESULTS = "/execution-results"


def submit(client: httpx.Client, ring_id: str, component_id: str, value: object) -> str:
    response = client.post(
        "/executions",
        json={
            "component_type": "code_block",
            "component_id": component_id,
            "input": value,
            "ring_id": ring_id,
        },
    )
    assert response.status_code == 202, response.text
    return str(response.json()["execution_id"])


def test_the_server_answers_when_one_ends_with_every_terminal_one_and_the_unknown_ids(
    lp: LocalPlatform,
) -> None:
    create_component(lp, "code_block", "waits-sleepy", {"source": SLEEPY})
    other = lp.create_tenant("Result waits")
    with api(lp) as client:
        slow = submit(client, lp.ring_id, "waits-sleepy", {"seconds": 30})
        quick = submit(client, lp.ring_id, "waits-sleepy", {"seconds": 0.2})
        strangers = (
            f"{lp.url}/api/v1/orgs/{other['org_id']}/workspaces/{other['workspace_id']}/execution-results"
        )
        foreign = httpx.post(
            strangers,
            json={"execution_ids": [quick], "wait_seconds": 0},
            headers={"Authorization": f"Bearer {other['token']}"},
        )
        assert foreign.status_code == 200 and foreign.json() == {"results": [], "missing": [quick]}
        held = client.post(RESULTS, json={"execution_ids": [slow, quick, "no-such-run"], "wait_seconds": 20})
        assert held.status_code == 200, held.text
        answer = held.json()
        assert [(r["execution_id"], r["status"], r["output"]) for r in answer["results"]] == [
            (quick, "completed", {"slept": 0.2})
        ]
        assert answer["missing"] == ["no-such-run"]
        client.post(f"/executions/{slow}/cancel")
        refused = client.post(RESULTS, json={"execution_ids": [], "wait_seconds": 1})
        assert refused.status_code == 400 and refused.json()["code"] == "validation_error"


async def test_awaiting_many_results_holds_one_request_at_a_time(
    lp: LocalPlatform, runtime_env: dict[str, str]
) -> None:
    create_component(lp, "code_block", "waits-double", {"source": DOUBLE})
    async with counted_flow() as (flow, counting):
        outputs = await asyncio.gather(
            *(flow.code_blocks.run("waits-double", {"x": x}, result_mode="output") for x in range(30))
        )
    assert outputs == [{"double": 2 * x} for x in range(30)]
    assert counting.peak["execution-results"] == 1, counting.peak
    assert counting.sent["result"] == 0, "no execution needed a request of its own"
