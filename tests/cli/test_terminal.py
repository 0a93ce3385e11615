"""The ``flow`` binary in a real terminal (a pty driven by pexpect): what a person at a keyboard sees."""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path

import pexpect

from flow_local.harness import LocalPlatform

from .conftest import FlowRunner, workspace_api

FLOW = str(Path(sys.executable).parent / "flow")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
BOX = set("┏┃━│─┡╇└┘")
NAP = (
    "import time\n\ndef main(seconds: int) -> dict:\n    time.sleep(seconds)\n    return {'slept': seconds}\n"
)


def run_in_terminal(
    runner: FlowRunner, *args: str, color: bool = False, timeout: float = 60
) -> tuple[int, str]:
    """Run ``flow *args`` in a pty; return its exit status and everything it showed."""
    env = dict(runner.env)
    env.pop("NO_COLOR", None)
    if not color:
        env["NO_COLOR"] = "1"
    env["TERM"] = "xterm-256color"
    terminal = pexpect.spawn(
        FLOW, list(args), env=env, encoding="utf-8", timeout=timeout, dimensions=(50, 180)
    )
    terminal.expect(pexpect.EOF)
    terminal.close()
    return int(terminal.exitstatus if terminal.exitstatus is not None else -1), str(terminal.before)


def test_version_in_a_terminal(flow: FlowRunner) -> None:
    status, shown = run_in_terminal(flow, "--version")
    assert status == 0
    assert re.fullmatch(r"flow \S+\s*", shown)


def test_a_usage_error_is_one_line(flow: FlowRunner) -> None:
    status, shown = run_in_terminal(flow, "executions", "lst")
    lines = [line for line in shown.splitlines() if line.strip()]
    assert status == 2
    assert lines == ["error: No such command 'lst'. Did you mean 'list'? (see `flow executions --help`)"]


def test_tables_use_colour_and_boxes_on_a_terminal_only_without_no_color(logged_in: FlowRunner) -> None:
    status, fancy = run_in_terminal(logged_in, "orgs", "list", color=True)
    assert status == 0
    assert set(fancy) & BOX

    status, plain = run_in_terminal(logged_in, "orgs", "list", color=False)
    assert status == 0
    assert not set(plain) & BOX
    assert not ANSI.search(plain)


def test_logs_follow_prints_events_while_the_execution_runs(
    logged_in: FlowRunner, platform: LocalPlatform
) -> None:
    """An agent whose tool naps: its first event shows while it runs, the rest as they come."""
    suffix = uuid.uuid4().hex[:8]
    with workspace_api(platform) as api:
        for kind, spec in (
            ("code_block", {"source": NAP}),
            ("agent", {"model": "offline/echo", "tools": [f"nap-{suffix}"]}),
        ):
            component_id = f"{'nap' if kind == 'code_block' else 'napper'}-{suffix}"
            created = api.post(
                f"/components/{kind}", json={"id": component_id, "name": component_id, "spec": spec}
            )
            assert created.status_code == 201, created.text
        submitted = api.post(
            "/executions",
            json={
                "component_type": "agent",
                "component_id": f"napper-{suffix}",
                "ring_id": platform.ring_id,
                "input": {"question": "Use the tool to nap 4 seconds"},
            },
        )
        assert submitted.status_code == 202, submitted.text
        execution_id = submitted.json()["execution_id"]

        terminal = pexpect.spawn(
            FLOW,
            ["executions", "logs", execution_id, "--follow"],
            env=logged_in.env,
            encoding="utf-8",
            timeout=90,
        )
        terminal.expect("message")
        still = api.get(f"/executions/{execution_id}").json()["status"]
        terminal.expect(pexpect.EOF)
        terminal.close()
    assert still == "running", "the first event was shown only after the execution ended"
    assert terminal.exitstatus == 0
    shown = str(terminal.before)
    assert "tool_call" in shown and "done" in shown


def test_run_in_a_terminal_shows_printed_output_then_the_result(
    logged_in: FlowRunner, platform: LocalPlatform
) -> None:
    block_id = f"say-{uuid.uuid4().hex[:8]}"
    source = "def main(name: str) -> dict:\n    print('hello', name)\n    return {'ok': True}\n"
    with workspace_api(platform) as api:
        assert (
            api.post(
                "/components/code_block", json={"id": block_id, "name": "say", "spec": {"source": source}}
            ).status_code
            == 201
        )
    status, shown = run_in_terminal(
        logged_in, "run", "code-block", block_id, "--input", '{"name": "Ada"}', timeout=120
    )
    assert status == 0, shown
    assert shown.index("hello Ada") < shown.index('"ok": true')
