"""A code block's processes end with its execution, even one that left its session and process group.

The code double-forks: the grandchild calls ``setsid`` (a new session and process group, the usual way
to escape a ``killpg``) and sleeps. Whether the execution returns, times out or is cancelled, the
grandchild must be gone afterwards.
"""

from __future__ import annotations

import time
from typing import Any

from flow_local.harness import LocalPlatform

from .conftest import ESCAPE, alive, workspace_api


def _gone_soon(pid: int) -> bool:
    """Whether ``pid`` is gone now or within a few seconds (the kill follows the end)."""
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not alive(pid)


def _escaped_pid(lp: LocalPlatform, execution_id: str) -> int:
    """The grandchild's pid, from the stdout the code block streamed as events."""
    with workspace_api(lp) as client:
        events = client.get(f"/executions/{execution_id}/events").json()
    for event in events:
        for word in str(event["data"].get("text") or "").split():
            if word.isdigit():
                return int(word)
    raise AssertionError(f"the code block printed no pid: {events}")


def _run(lp: LocalPlatform, name: str, wait: float, timeout: int | None, cancel: bool) -> dict[str, Any]:
    with workspace_api(lp) as client:
        spec: dict[str, Any] = {"source": ESCAPE}
        if timeout is not None:
            spec["timeout_seconds"] = timeout
        client.delete(f"/components/code_block/{name}")
        assert (
            client.post("/components/code_block", json={"id": name, "name": name, "spec": spec}).status_code
            == 201
        )
        body = {
            "component_type": "code_block",
            "component_id": name,
            "input": {"wait": wait},
            "ring_id": lp.ring_id,
        }
        execution_id = client.post("/executions", json=body).json()["execution_id"]
        if cancel:
            _wait_for_stdout(client, execution_id)
            assert client.post(f"/executions/{execution_id}/cancel").status_code == 200
        result = client.get(f"/executions/{execution_id}/result", params={"wait_seconds": 60}).json()
        assert result["status"] in ("completed", "failed", "timeout", "cancelled"), result
        return dict(result)


def _wait_for_stdout(client: Any, execution_id: str) -> None:
    """Wait until the code block has printed its grandchild's pid (it streams stdout as events)."""
    events = client.get(f"/executions/{execution_id}/events", params={"wait_seconds": 30}).json()
    assert events, "the code block printed nothing"


def test_a_setsid_grandchild_dies_when_the_execution_returns(lp: LocalPlatform) -> None:
    result = _run(lp, "cb-escape-return", wait=0.0, timeout=None, cancel=False)
    assert result["status"] == "completed", result
    assert _gone_soon(int(result["output"]))


def test_a_setsid_grandchild_dies_when_the_execution_times_out(lp: LocalPlatform) -> None:
    result = _run(lp, "cb-escape-timeout", wait=120.0, timeout=2, cancel=False)
    assert result["status"] == "timeout", result
    assert _gone_soon(_escaped_pid(lp, result["execution_id"]))


def test_a_setsid_grandchild_dies_when_the_execution_is_cancelled(lp: LocalPlatform) -> None:
    result = _run(lp, "cb-escape-cancel", wait=120.0, timeout=None, cancel=True)
    assert result["status"] == "cancelled", result
    assert _gone_soon(_escaped_pid(lp, result["execution_id"]))
