"""``flow run code-block|agent|workflow ID`` and ``flow executions status|cancel|logs ID``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from flow_types import ExecutionResult

from flow_sdk.cli.context import EXIT_API, JsonOption, make_client, parse_json_object
from flow_sdk.cli.output import console, err_console, print_json, print_record, print_table

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
            console.print(execution_id, markup=False)
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
    with err_console.status(f"{label}: pending") as status:
        return client.await_execution_result(
            execution_id,
            timeout_seconds=timeout,
            max_wait_seconds=5.0,
            on_status=_status_updater(status, label),
        )


def _status_updater(status: Status, label: str) -> Any:
    def update(envelope: dict[str, Any]) -> None:
        status.update(f"{label}: {envelope.get('status')}")

    return update


def _show_result(envelope: ExecutionResult, label: str, as_json: bool) -> None:
    """Print the output of a completed run; for any other end, the error and exit code 1."""
    state = envelope.get("status")
    if as_json:
        print_json(envelope)
    elif state == "completed":
        print_json(envelope.get("output"))
    if state == "completed":
        return
    error: Mapping[str, Any] = envelope.get("error") or {}
    kind = f"{error.get('type')}: " if error.get("type") else ""
    err_console.print(f"error: {label} {state}: {kind}{error.get('message') or state}", markup=False)
    if error.get("traceback") and not as_json:
        err_console.print(str(error["traceback"]).rstrip(), markup=False)
    raise typer.Exit(EXIT_API)


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
        console.print(
            f"Cancellation requested for {execution_id}; status: {execution.get('status')}", markup=False
        )


@executions_app.command("logs")
def execution_logs(
    ctx: typer.Context,
    execution_id: str = ExecutionArgument,
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Keep printing new events until the execution ends."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Show the events an execution pushed (message, chunk, tool_call, done, error)."""
    client = make_client(ctx)
    after = 0
    while True:
        events = client.list_execution_events(
            execution_id, after_seq=after, wait_seconds=10.0 if follow else 0.0
        )
        for event in events:
            after = max(after, int(event.get("seq", after)))
        if as_json:
            print_json(events)
        elif events or not follow:
            print_table(events, ["seq", "event_type", "data", "created_at"], title="events")
        if not follow or any(e.get("event_type") in ("done", "error") for e in events):
            return
        if not events and client.get_execution(execution_id).get("status") in (
            "completed",
            "failed",
            "timeout",
            "cancelled",
        ):
            return
