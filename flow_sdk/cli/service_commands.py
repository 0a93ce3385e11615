"""``flow services invoke`` and ``flow ddl INSTANCE SQL`` (preview, confirm, execute)."""

from __future__ import annotations

from pathlib import Path

import typer
from flow_types import DdlResult

from flow_sdk.cli.context import JsonOption, make_client, parse_json_object
from flow_sdk.cli.output import console, err_console, print_json, print_table

__all__ = ["register"]

services_app = typer.Typer(help="Hosted services: list them and call their endpoints.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``services`` group and the ``ddl`` command to ``app``."""
    app.add_typer(services_app, name="services")
    app.command("ddl")(ddl)


def _parse_query(pairs: list[str]) -> dict[str, str]:
    """``["a=1", "b=2"]`` -> ``{"a": "1", "b": "2"}``; anything else is a usage error."""
    query: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"--query takes NAME=VALUE, got {pair!r}")
        query[name] = value
    return query


@services_app.command("list")
def list_services(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """List the hosted services of the workspace."""
    services = make_client(ctx).hosted_services.list()
    if as_json:
        print_json(services)
    else:
        print_table(services, ["id", "name", "version", "status", "updated_at"], title="hosted services")


@services_app.command("invoke")
def invoke(
    ctx: typer.Context,
    service_id: str = typer.Argument(..., help="Hosted service id."),
    method: str = typer.Argument(..., help="GET, POST, PUT or DELETE."),
    path: str = typer.Argument(..., help="Endpoint path inside the service, e.g. /summarize."),
    body: str | None = typer.Option(None, "--body", "-d", help="JSON body (a JSON object)."),
    body_file: Path | None = typer.Option(None, "--body-file", help="A file holding the JSON body."),
    query: list[str] = typer.Option([], "--query", "-q", help="Query parameter NAME=VALUE (repeatable)."),
    version: int | None = typer.Option(None, "--version", min=1, help="Call this deployed version."),
) -> None:
    """Call an endpoint of a hosted service and print its JSON answer."""
    verb = method.upper()
    if verb not in ("GET", "POST", "PUT", "DELETE"):
        raise typer.BadParameter(f"method must be GET, POST, PUT or DELETE, got {method!r}")
    payload = (
        parse_json_object(body, body_file, "--body") if body is not None or body_file is not None else None
    )
    answer = make_client(ctx).invoke_service(
        service_id, verb, path, body=payload, query=_parse_query(query) or None, version=version
    )
    if isinstance(answer, bytes):
        console.print(answer.decode("utf-8", errors="replace"), markup=False)
    else:
        print_json(answer)


def ddl(
    ctx: typer.Context,
    instance_id: str = typer.Argument(..., help="Connector instance id."),
    sql: str = typer.Argument(..., help="The DDL statement(s)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Execute without asking after the preview."),
    reason: str | None = typer.Option(None, "--reason", help="Why (recorded in the audit log)."),
    scope_type: str = typer.Option("workspace", "--scope-type", help="workspace or org."),
    as_json: bool = JsonOption,
) -> None:
    """Preview DDL against a connector instance, then execute it once confirmed."""
    client = make_client(ctx)
    preview = client.execute_ddl(instance_id, sql, confirm=False, scope_type=scope_type, reason=reason)
    if not as_json:
        _show_ddl(preview, "Preview")
    if not yes and not typer.confirm("Execute these statements?", default=False, err=True):
        if as_json:
            print_json({"preview": preview, "result": None})
        err_console.print("Not executed.", markup=False)
        return
    result = client.execute_ddl(instance_id, sql, confirm=True, scope_type=scope_type, reason=reason)
    if as_json:
        print_json({"preview": preview, "result": result})
    else:
        _show_ddl(result, "Executed" if result.get("executed", True) else "Result")


def _show_ddl(result: DdlResult, heading: str) -> None:
    console.print(f"{heading} ({result.get('status')}):", markup=False)
    for statement in result.get("statements", []):
        console.print(f"  {statement}", markup=False)
    for warning in result.get("warnings") or []:
        err_console.print(f"warning: {warning}", markup=False)
    if result.get("affected_objects"):
        console.print(f"affects: {', '.join(result['affected_objects'])}", markup=False)
