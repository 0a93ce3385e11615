"""Many awaited results share one held request: POST .../execution-results and the SDK's waiter."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from flow_local.harness import LocalPlatform
from flow_sdk import FlowSDK

from .conftest import api, create_component

DOUBLE = "def main(x: int) -> dict:\n    return {'double': 2 * x}\n"
SLEEPY = "import time\n\n\ndef main(seconds: float) -> dict:\n    time.sleep(seconds)\n    return {'slept': seconds}\n"
RESULTS = "/execution-results"


class CountingTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, noting how many requests of each path are in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        kind = request.url.path.rsplit("/", 1)[-1]
        self.sent[kind] += 1
        self.in_flight[kind] += 1
        self.peak[kind] = max(self.peak[kind], self.in_flight[kind])
        try:
            response = await super().handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.in_flight[kind] -= 1


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
    counting = CountingTransport()
    async with httpx.AsyncClient(transport=counting) as brought:
        flow = FlowSDK().with_options(http_client=brought)
        try:
            outputs = await asyncio.gather(
                *(flow.code_blocks.run("waits-double", {"x": x}, result_mode="output") for x in range(30))
            )
        finally:
            await flow.close()
    assert outputs == [{"double": 2 * x} for x in range(30)]
    assert counting.peak["execution-results"] == 1, counting.peak
    assert counting.sent["result"] == 0, "no execution needed a request of its own"
