"""``flow run code-block|agent|workflow ID`` and ``flow executions list|status|result|logs|cancel``."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from flow_sdk._generated.types import ExecutionResult
from flow_sdk.cli.context import EXIT_API, JsonOption, make_client, parse_json_object
from flow_sdk.cli.output import echo, echo_err, print_data, print_json, print_record, print_table, status

if TYPE_CHECKING:
    from rich.status import Status

    from flow_sdk.cli_client import CLIClient

__all__ = ["register"]

run_app = typer.Typer(help="Run a code block, agent or workflow and show its result.", no_args_is_help=True)
executions_app = typer.Typer(help="Inspect and cancel executions.", no_args_is_help=True)

InputOption = typer.Option(None, "--input", "-i", help='Input as a JSON object, e.g. \'{"text": "hi"}\'.')
InputFileOption = typer.Option(None, "--input-file", help="A file holding the input JSON object.")
RingOption = typer.Option(None, "--ring", help="Ring id (default: RING_ID, else the workspace's dev ring).")
TimeoutOption = typer.Option(300, "--timeout", min=1, help="Seconds the execution may take.")
NoWaitOption = typer.Option(False, "--no-wait", help="Submit, print the execution id and return.")
ExecutionArgument = typer.Argument(..., help="Execution id.")
TERMINAL = ("completed", "failed", "timeout", "cancelled")


def register(app: typer.Typer) -> None:
    """Add the ``run`` and ``executions`` groups to ``app``."""
    app.add_typer(run_app, name="run")
    app.add_typer(executions_app, name="executions")


@run_app.command("code-block")
def run_code_block(
    ctx: typer.Context,
    component_id: str = typer.Argument(..., help="Code block id."),
    input_json: str | None = InputOption,
    input_file: Path | None = InputFileOption,
    ring: str | None = RingOption,
    timeout: int = TimeoutOption,
    no_wait: bool = NoWaitOption,
    as_json: bool = JsonOption,
) -> None:
    """Run a code block and show its result."""
    _run(ctx, "code_block", component_id, input_json, input_file, ring, timeout, no_wait, as_json)


@run_app.command("agent")
def run_agent(
    ctx: typer.Context,
    component_id: str = typer.Argument(..., help="Agent id."),
    input_json: str | None = InputOption,
    input_file: Path | None = InputFileOption,
    ring: str | None = RingOption,
    timeout: int = TimeoutOption,
    no_wait: bool = NoWaitOption,
    as_json: bool = JsonOption,
) -> None:
    """Run an agent and show its result."""
    _run(ctx, "agent", component_id, input_json, input_file, ring, timeout, no_wait, as_json)


@run_app.command("workflow")
def run_workflow(
    ctx: typer.Context,
    component_id: str = typer.Argument(..., help="Workflow id."),
    input_json: str | None = InputOption,
    input_file: Path | None = InputFileOption,
    ring: str | None = RingOption,
    timeout: int = TimeoutOption,
    no_wait: bool = NoWaitOption,
    as_json: bool = JsonOption,
) -> None:
    """Run a workflow and show its result."""
    _run(ctx, "workflow", component_id, input_json, input_file, ring, timeout, no_wait, as_json)


def _run(
    ctx: typer.Context,
    component_type: str,
    component_id: str,
    input_json: str | None,
    input_file: Path | None,
    ring: str | None,
    timeout: int,
    no_wait: bool,
    as_json: bool,
) -> None:
    """Read the input, submit, show a live status while waiting, then print the output (or the failure)."""
    input_data = parse_json_object(input_json, input_file, "--input")
    client = make_client(ctx)
    handle = client.submit_execution(
        component_type, component_id, input_data, ring_id=ring, timeout_seconds=timeout
    )
    execution_id = str(handle["execution_id"])
    if no_wait:
        if as_json:
            print_json(handle)
        else:
            echo(execution_id)
            echo_err(f"fetch its result later with: flow executions result {execution_id}")
        return
    label = f"{component_type.replace('_', ' ')} {component_id} (execution {execution_id})"
    envelope = _await_with_status(client, execution_id, label, timeout + 30, quiet=as_json)
    _show_result(envelope, label, as_json)


def _await_with_status(
    client: CLIClient, execution_id: str, label: str, timeout: float, *, quiet: bool
) -> ExecutionResult:
    """Wait for the terminal envelope, showing a spinner with the current status on stderr."""
    if quiet:
        return client.await_execution_result(execution_id, timeout_seconds=timeout)
    with status(f"{label}: pending") as spinner:
        return client.await_execution_result(
            execution_id,
            timeout_seconds=timeout,
            max_wait_seconds=5.0,
            on_status=_status_updater(spinner, label),
        )


def _status_updater(status: Status, label: str) -> Any:
    def update(envelope: dict[str, Any]) -> None:
        status.update(f"{label}: {envelope.get('status')}")

    return update


def _show_result(envelope: ExecutionResult, label: str, as_json: bool) -> None:
    """Print what the run printed (on stderr), then its output; for any other end, the error and exit 1.

    The block's own stdout and stderr go to stderr so that stdout holds only the output (``| jq`` works).
    """
    state = envelope.get("status")
    if as_json:
        print_json(envelope)
    else:
        _show_streams(envelope)
        if state == "completed":
            print_data(envelope.get("output"))
    if state == "completed":
        return
    error: Mapping[str, Any] = envelope.get("error") or {}
    kind = f"{error.get('type')}: " if error.get("type") else ""
    echo_err(f"error: {label} {state}: {kind}{error.get('message') or state}")
    traceback = error.get("traceback")
    if traceback and not as_json:
        echo_err(str(traceback).rstrip())
    raise typer.Exit(EXIT_API)


def _show_streams(envelope: ExecutionResult) -> None:
    """Print the stdout and stderr an execution captured, as it printed them, on stderr."""
    for stream in ("stdout", "stderr"):
        text = envelope.get(stream)
        if text:
            sys.stderr.write(str(text) if str(text).endswith("\n") else f"{text}\n")
    sys.stderr.flush()


@executions_app.command("list")
def list_executions(
    ctx: typer.Context,
    status_filter: str | None = typer.Option(
        None, "--status", help="Only this status: pending, running, completed, failed, timeout, cancelled."
    ),
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="At most this many."),
    as_json: bool = JsonOption,
) -> None:
    """List the workspace's executions, newest first.

    \b
    Examples:
      flow executions list
      flow executions list --status failed -o json
    """
    executions = make_client(ctx).list_executions(limit=limit, status=status_filter)
    if as_json:
        print_json(executions)
    else:
        columns = ["execution_id", "component_type", "component_id", "status", "created_at"]
        print_table(executions, columns, title="executions")


@executions_app.command("result")
def execution_result(
    ctx: typer.Context,
    execution_id: str = ExecutionArgument,
    wait: float = typer.Option(0.0, "--wait", min=0, max=25, help="Seconds to wait for the end."),
    as_json: bool = JsonOption,
) -> None:
    """Show the result of an execution (its output, and what it printed), e.g. after `flow run --no-wait`.

    \b
    Example:
      flow executions result 0f9c... --wait 10
    """
    envelope = make_client(ctx).get_execution_result(execution_id, wait_seconds=wait)
    state = envelope.get("status")
    if state in ("pending", "running"):
        if as_json:
            print_json(envelope)
        else:
            echo_err(f"execution {execution_id} is {state}; try again or pass --wait")
        raise typer.Exit(EXIT_API)
    _show_result(envelope, f"execution {execution_id}", as_json)


@executions_app.command("status")
def execution_status(
    ctx: typer.Context, execution_id: str = ExecutionArgument, as_json: bool = JsonOption
) -> None:
    """Show the status of an execution."""
    execution = make_client(ctx).get_execution(execution_id)
    if as_json:
        print_json(execution)
    else:
        print_record(execution)


@executions_app.command("cancel")
def cancel_execution(
    ctx: typer.Context, execution_id: str = ExecutionArgument, as_json: bool = JsonOption
) -> None:
    """Ask the platform to cancel an execution (best effort)."""
    execution = make_client(ctx).cancel_execution(execution_id)
    if as_json:
        print_json(execution)
    else:
        echo(f"Cancellation requested for {execution_id}; status: {execution.get('status')}")


@executions_app.command("logs")
def execution_logs(
    ctx: typer.Context,
    execution_id: str = ExecutionArgument,
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Keep printing new events as they come until the execution ends."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Show the events an execution pushed (message, chunk, tool_call, done, error), one line each.

    \b
    Example:
      flow executions logs 0f9c... --follow
    """
    client = make_client(ctx)
    after = 0
    while True:
        events = client.list_execution_events(
            execution_id, after_seq=after, wait_seconds=10.0 if follow else 0.0
        )
        for event in events:
            after = max(after, int(event.get("seq", after)))
            _print_event(event, as_json)
        if not follow or any(e.get("event_type") in ("done", "error") for e in events):
            return
        if not events and client.get_execution(execution_id).get("status") in TERMINAL:
            return


def _print_event(event: Mapping[str, Any], as_json: bool) -> None:
    """One event: a JSON line, or ``seq  type  data``; printed at once so a follower sees it live."""
    if as_json:
        echo(json.dumps(event, sort_keys=True, default=str))
        return
    data: Any = event.get("data")
    fields = cast("dict[str, Any]", data) if isinstance(data, dict) else {}
    text = fields.get("text") if fields and set(fields) <= {"text", "stream"} else None
    shown = str(text).rstrip("\n") if text is not None else json.dumps(data, sort_keys=True, default=str)
    echo(f"{event.get('seq', ''):>4}  {event.get('event_type', ''):<9} {shown}")
