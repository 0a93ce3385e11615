"""``flow services invoke`` and ``flow ddl INSTANCE SQL`` (preview, confirm, execute)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from flow_sdk._generated.types import DdlResult
from flow_sdk.cli.context import JsonOption, make_client, parse_json_object
from flow_sdk.cli.output import echo, echo_err, print_json, print_table

if TYPE_CHECKING:
    from flow_sdk.cli_client import CLIClient

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
    """List the hosted services of the workspace with the version that is running now.

    \b
    Example:
      flow services list -o tsv
    """
    client = make_client(ctx)
    services = [_with_running_version(service, client) for service in client.hosted_services.list()]
    if as_json:
        print_json(services)
    else:
        columns = ["id", "name", "running_version", "latest_version", "status", "updated_at"]
        print_table(services, columns, title="hosted services")


def _with_running_version(service: Mapping[str, Any], client: CLIClient) -> dict[str, Any]:
    """The service with ``running_version`` (newest running one), ``latest_version`` and ``status``."""
    versions = client.hosted_services.versions(str(service["id"]))
    running = [v["version"] for v in versions if v.get("status") == "running"]
    newest = max(versions, key=lambda v: int(v["version"]), default=None)
    return {
        **service,
        "running_version": max(running, default=None),
        "latest_version": newest["version"] if newest else None,
        "status": newest.get("status") if newest else "not deployed",
    }


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
        echo(answer.decode("utf-8", errors="replace"))
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
        echo_err("Not executed.")
        return
    result = client.execute_ddl(instance_id, sql, confirm=True, scope_type=scope_type, reason=reason)
    if as_json:
        print_json({"preview": preview, "result": result})
    else:
        _show_ddl(result, "Executed" if result.get("executed", True) else "Result")


def _show_ddl(result: DdlResult, heading: str) -> None:
    echo(f"{heading} ({result.get('status')}):")
    for statement in result.get("statements", []):
        echo(f"  {statement}")
    for warning in result.get("warnings") or []:
        echo_err(f"warning: {warning}")
    affected = result.get("affected_objects")
    if affected:
        echo(f"affects: {', '.join(affected)}")
