"""A code block's printed lines reach followers while it runs, not when it ends.

The code block prints a line, then waits until the test has seen that line (the test then creates a
file the block polls for), then prints another. Were the output sent only at the end, the block would
wait forever for a line nobody can see yet, and the test would fail on its deadline.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pexpect
import pytest

from flow_local.harness import LocalPlatform
from flow_sdk.cli_client import CLIClient
from flow_sdk.config import FlowConfig
from flow_sdk.types import ExecutionEvent

from .conftest import api, create_component

FLOW = str(Path(sys.executable).parent / "flow")
PRINT_WAIT_PRINT = """
import os, sys, time

def main(go: str, chatter: int = 0) -> dict:
    print("first line")
    print("a warning", file=sys.stderr)
    for number in range(chatter):
        print("chatter", number)
    deadline = time.monotonic() + 120
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.05)
    print("second line")
    return {"saw_go": os.path.exists(go)}
"""


@pytest.fixture(scope="module")
def block_id(lp: LocalPlatform) -> str:
    block = f"print-wait-print-{uuid.uuid4().hex[:8]}"
    create_component(lp, "code_block", block, {"source": PRINT_WAIT_PRINT})
    return block


def submit(lp: LocalPlatform, block: str, inputs: dict[str, object]) -> str:
    """Submit the code block; return the execution id."""
    with api(lp) as client:
        response = client.post(
            "/executions",
            json={
                "component_type": "code_block",
                "component_id": block,
                "ring_id": lp.ring_id,
                "input": inputs,
            },
        )
    assert response.status_code == 202, response.text
    return str(response.json()["execution_id"])


def test_the_event_stream_has_the_first_line_before_the_block_ends(
    lp: LocalPlatform, runtime_env: dict[str, str], block_id: str, side_dir: Path
) -> None:
    go = side_dir / "go"
    execution_id = submit(lp, block_id, {"go": str(go), "chatter": 500})
    client = CLIClient(FlowConfig.load(environ=runtime_env))
    seen: list[ExecutionEvent] = []
    while not any(str(e["data"].get("text", "")).startswith("first line") for e in seen):
        events = client.list_execution_events(execution_id, after_seq=len(seen), wait_seconds=10.0)
        assert not any(e["event_type"] in ("done", "error") for e in events), events
        seen.extend(events)
    assert client.get_execution(execution_id)["status"] == "running"
    go.touch()

    result = client.await_execution_result(execution_id, timeout_seconds=120)
    assert result["status"] == "completed" and result["output"] == {"saw_go": True}
    chatter = "".join(f"chatter {n}\n" for n in range(500))
    assert result["stdout"] == f"first line\n{chatter}second line\n"
    assert result["stderr"] == "a warning\n"
    messages = [e for e in client.list_execution_events(execution_id) if e["event_type"] == "message"]
    assert len(messages) < 500, "the chatter was sent line by line instead of in batches"


def test_logs_follow_shows_the_first_line_while_the_block_runs(
    lp: LocalPlatform, runtime_env: dict[str, str], block_id: str, side_dir: Path
) -> None:
    go = side_dir / "go"
    execution_id = submit(lp, block_id, {"go": str(go)})
    env = {**os.environ, **runtime_env, "NO_COLOR": "1", "FLOW_CONFIG_DIR": str(side_dir / "config")}
    terminal = pexpect.spawn(
        FLOW, ["executions", "logs", execution_id, "--follow"], env=env, encoding="utf-8", timeout=90
    )
    try:
        terminal.expect("first line")
        go.touch()
        terminal.expect("second line")
        terminal.expect(pexpect.EOF)
    finally:
        terminal.close(force=True)
    assert terminal.exitstatus == 0
    result = CLIClient(FlowConfig.load(environ=runtime_env)).get_execution_result(execution_id)
    assert result["output"] == {"saw_go": True}, "the first line was shown only after the block gave up"
