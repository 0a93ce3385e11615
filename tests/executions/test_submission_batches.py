"""Several submissions in one request: POST .../execution-submissions and the SDK's batching of a burst."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from flow_local.harness import LocalPlatform
from flow_sdk import PlatformNotFoundError
from flow_sdk._submit_batcher import MAX_IN_FLIGHT

from .conftest import api, counted_flow, create_component

DOUBLE = "def main(x: int) -> dict:\n    return {'double': 2 * x}\n"
BATCH = "/execution-submissions"


def item(key: str, component_id: str, ring_id: str, **fields: Any) -> dict[str, Any]:
    execution = {"component_type": "code_block", "component_id": component_id, "ring_id": ring_id}
    return {"idempotency_key": key, "execution": {**execution, **fields}}


def test_each_submission_gets_its_handle_or_its_own_error_and_a_resend_starts_nothing_twice(
    lp: LocalPlatform,
) -> None:
    create_component(lp, "code_block", "batch-double", {"source": DOUBLE})
    body = {
        "submissions": [
            item("batch-k1", "batch-double", lp.ring_id, input={"x": 1}),
            item("batch-k2", "no-such-block", lp.ring_id, input={"x": 2}),
            item("batch-k3", "batch-double", "no-such-ring", input={"x": 3}),
            item("batch-k4", "batch-double", lp.ring_id, input={"x": 4}, component_type="agent"),
            item("batch-k5", "batch-double", lp.ring_id, input={"x": 5}),
        ]
    }
    with api(lp) as client:
        first = client.post(BATCH, json=body)
        assert first.status_code == 200, first.text
        results = first.json()["results"]
        assert [result["status"] for result in results] == [202, 404, 404, 404, 202]
        assert "no-such-block" in results[1]["error"]["detail"]
        assert results[2]["error"]["field"] == "ring_id"
        assert "batch-double" in results[3]["error"]["detail"], "no agent of that id"
        assert all(result.get("handle") is None for result in results[1:4])
        assert results[1]["error"]["request_id"] == first.headers["x-request-id"]
        started = [results[0]["handle"]["execution_id"], results[4]["handle"]["execution_id"]]
        again = client.post(BATCH, json=body).json()["results"]
        assert [again[0]["handle"]["execution_id"], again[4]["handle"]["execution_id"]] == started
        waited = client.post("/execution-results", json={"execution_ids": started, "wait_seconds": 20}).json()
        while len(waited["results"]) < len(started):
            more = client.post("/execution-results", json={"execution_ids": started, "wait_seconds": 20})
            waited = more.json()
        outputs = sorted(result["output"]["double"] for result in waited["results"])
        assert outputs == [2, 10]


def test_a_batch_is_bound_to_its_workspace_and_limited(lp: LocalPlatform) -> None:
    other = lp.create_tenant("Submission batches")
    body = {"submissions": [item("batch-foreign", "batch-double", lp.ring_id, input={"x": 1})]}
    foreign = httpx.post(
        f"{lp.url}/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}{BATCH}",
        json=body,
        headers={"Authorization": f"Bearer {other['token']}"},
    )
    assert foreign.status_code in (403, 404), foreign.text
    with api(lp) as client:
        too_many = {"submissions": [item(f"k{n}", "batch-double", lp.ring_id) for n in range(101)]}
        refused = client.post(BATCH, json=too_many)
        assert refused.status_code == 400 and refused.json()["field"] == "submissions"
        wrong = [item("k", "batch-double", lp.ring_id, timeout_seconds=0)]
        refused = client.post(BATCH, json={"submissions": wrong})
        assert refused.status_code == 400
        assert refused.json()["field"] == "submissions.0.execution.timeout_seconds", (
            "refused whole, field named"
        )
        empty = client.post(BATCH, json={"submissions": []})
        assert empty.status_code == 400 and empty.json()["field"] == "submissions"
        keyless = client.post(
            BATCH, json={"submissions": [{"execution": body["submissions"][0]["execution"]}]}
        )
        assert keyless.status_code == 400 and "idempotency_key" in keyless.json()["detail"]


async def test_a_burst_of_runs_goes_out_in_a_few_requests_and_each_caller_gets_its_own_answer(
    lp: LocalPlatform, runtime_env: dict[str, str]
) -> None:
    create_component(lp, "code_block", "batch-double", {"source": DOUBLE})
    async with counted_flow() as (flow, counting):
        runs = [flow.code_blocks.run("batch-double", {"x": x}, result_mode="output") for x in range(60)]
        runs.insert(30, flow.code_blocks.run("batch-missing", {"x": 0}))
        answers = await asyncio.gather(*runs, return_exceptions=True)
    missing = answers.pop(30)
    assert isinstance(missing, PlatformNotFoundError), missing
    assert "batch-missing" in str(missing)
    assert answers == [{"double": 2 * x} for x in range(60)]
    singles, batches = counting.sent["executions"], counting.sent["execution-submissions"]
    assert singles == MAX_IN_FLIGHT, counting.sent
    assert 1 <= batches <= 61 - MAX_IN_FLIGHT, counting.sent
    assert singles + batches < 20, f"61 submissions took {singles + batches} requests"
    assert counting.peak["execution-results"] == 1, counting.peak


async def test_a_lone_run_and_a_raw_response_call_submit_on_their_own(
    lp: LocalPlatform, runtime_env: dict[str, str]
) -> None:
    create_component(lp, "code_block", "batch-double", {"source": DOUBLE})
    async with counted_flow() as (flow, counting):
        assert await flow.code_blocks.run("batch-double", {"x": 3}, result_mode="output") == {"double": 6}
        platform = flow._platform()
        raw = await asyncio.gather(
            *(
                platform.with_raw_response.submit_code_block_execution("batch-double", {"x": x})
                for x in range(5)
            )
        )
    assert all(response.status_code == 202 for response in raw)
    assert counting.sent["executions"] == 6 and counting.sent["execution-submissions"] == 0, counting.sent


async def test_a_caller_chosen_idempotency_key_is_never_folded_into_a_batch(
    lp: LocalPlatform, runtime_env: dict[str, str]
) -> None:
    create_component(lp, "code_block", "batch-double", {"source": DOUBLE})
    async with counted_flow(idempotency_key="caller-chosen-batch-key") as (flow, counting):
        handles = await asyncio.gather(*(flow.code_blocks.submit("batch-double", {"x": 1}) for _ in range(4)))
    assert len({handle["execution_id"] for handle in handles}) == 1, "one key, one execution"
    assert counting.sent["execution-submissions"] == 0, counting.sent
