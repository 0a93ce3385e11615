"""The execution poller: server-side wait, intervals, timeouts, 404 grace, failures, unknown statuses."""

from __future__ import annotations

import json

import httpx
import pytest
from flow_unit_helpers import error_response, make_flow

from flow_sdk import ExecutionTimeoutError, PlatformExecutionError, PlatformNotFoundError
from flow_sdk._polling import TERMINAL_STATUSES, PollSettings, await_terminal

HANDLE = {
    "execution_id": "ex1",
    "status": "pending",
    "component_type": "code_block",
    "component_id": "cb1",
    "created_at": "2026-01-01T00:00:00Z",
}


def envelope(status: str, **extra: object) -> dict[str, object]:
    return {"execution_id": "ex1", "status": status, **extra}


def scripted(results: list[httpx.Response], waits: list[str]):  # type: ignore[no-untyped-def]
    """A server answering the scripted envelopes in turn, to the SDK's waits for several results
    (``POST .../execution-results``: a terminal envelope, an unknown id, or nothing yet) and to its
    reads of one result (``GET .../result``)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/executions"):
            return httpx.Response(202, json=HANDLE)
        if request.url.path.endswith("/execution-results"):
            body = json.loads(request.content)
            waits.append(str(body["wait_seconds"]))
            answer = results.pop(0)
            if answer.status_code == 404:
                return httpx.Response(200, json={"results": [], "missing": body["execution_ids"]})
            terminal = answer.json()["status"] in TERMINAL_STATUSES
            return httpx.Response(200, json={"results": [answer.json()] if terminal else [], "missing": []})
        assert request.url.path.endswith("/executions/ex1/result")
        waits.append(request.url.params["wait_seconds"])
        return results.pop(0)

    return handler


async def test_run_uses_server_side_wait_and_returns_envelope(sleeps: list[float]) -> None:
    waits: list[str] = []
    done = envelope("completed", output={"answer": 42})
    flow = make_flow(scripted([httpx.Response(200, json=done)], waits))
    result = await flow.code_blocks.run(code_block_id="cb1", input_parameters={"text": "x"}, ring_id="r")
    assert result == done
    assert len(waits) == 1 and float(waits[0]) > 0
    await flow.close()


async def test_result_mode_output_unwraps(sleeps: list[float]) -> None:
    waits: list[str] = []
    flow = make_flow(scripted([httpx.Response(200, json=envelope("completed", output={"a": 1}))], waits))
    assert await flow.code_blocks.run("cb1", {}, result_mode="output") == {"a": 1}
    await flow.close()


async def test_unknown_and_pending_statuses_keep_polling_with_growing_interval(sleeps: list[float]) -> None:
    waits: list[str] = []
    results = [
        httpx.Response(200, json=envelope(s)) for s in ("pending", "queued_for_gpu", "running", "running")
    ]
    results.append(httpx.Response(200, json=envelope("completed", output=1)))
    flow = make_flow(scripted(results, waits))
    assert await flow.agents.await_result("ex1", timeout_seconds=60, result_mode="output") == 1
    assert len(waits) == 5
    assert sleeps == sorted(sleeps) and sleeps[0] == 0.5 and sleeps[-1] > sleeps[0]
    await flow.close()


async def test_failed_execution_raises_with_remote_message_and_traceback(sleeps: list[float]) -> None:
    waits: list[str] = []
    failed = envelope(
        "failed",
        error={
            "message": "division by zero",
            "type": "ZeroDivisionError",
            "traceback": "Traceback...\nZeroDivisionError: division by zero",
        },
    )
    flow = make_flow(scripted([httpx.Response(200, json=failed)], waits))
    with pytest.raises(PlatformExecutionError) as info:
        await flow.workflows.await_result("ex1")
    assert "division by zero" in str(info.value) and "Traceback" in str(info.value)
    assert info.value.remote_traceback and info.value.execution_id == "ex1"
    await flow.close()


async def test_platform_timeout_status_raises_timeout_error(sleeps: list[float]) -> None:
    waits: list[str] = []
    flow = make_flow(scripted([httpx.Response(200, json=envelope("timeout"))], waits))
    with pytest.raises(ExecutionTimeoutError) as info:
        await flow.code_blocks.await_result("ex1")
    assert info.value.last_status == envelope("timeout")
    await flow.close()


async def test_client_timeout_carries_last_status() -> None:
    calls = 0

    async def fetch(wait: float) -> dict[str, object]:
        nonlocal calls
        calls += 1
        return envelope("running")

    with pytest.raises(ExecutionTimeoutError) as info:
        await await_terminal(fetch, "ex1", PollSettings(timeout_seconds=0.05, poll_interval_seconds=0.01))
    assert info.value.last_status == envelope("running")
    assert isinstance(info.value, TimeoutError) and calls >= 1


async def test_not_found_is_retried_within_grace_then_raised(sleeps: list[float]) -> None:
    waits: list[str] = []
    results = [error_response(404), error_response(404), httpx.Response(200, json=envelope("completed"))]
    flow = make_flow(scripted(results, waits))
    assert (await flow.code_blocks.await_result("ex1"))["status"] == "completed"
    await flow.close()

    flow = make_flow(lambda request: error_response(404))
    with pytest.raises(PlatformNotFoundError):
        await flow.code_blocks.await_result("ex1", not_found_retry_seconds=0)
    await flow.close()


async def test_platform_client_await_execution_result_signature_defaults(sleeps: list[float]) -> None:
    waits: list[str] = []
    flow = make_flow(scripted([httpx.Response(200, json=envelope("completed", output=3))], waits))
    result = await flow._platform().await_execution_result(
        "ex1", timeout_seconds=5, poll_interval_seconds=0.1
    )
    assert result["output"] == 3 and float(waits[0]) <= 5
    await flow.close()
