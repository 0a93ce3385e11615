"""``flow orgs list``, ``flow workspaces list`` and ``flow workspaces use``."""

from __future__ import annotations

import typer

from flow_sdk.cli.context import EXIT_NOT_FOUND, JsonOption, make_client
from flow_sdk.cli.output import echo, echo_err, print_json, print_table

__all__ = ["register"]

orgs_app = typer.Typer(help="Organizations you can access.", no_args_is_help=True)
workspaces_app = typer.Typer(help="Workspaces of an organization.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``orgs`` and ``workspaces`` groups to ``app``."""
    app.add_typer(orgs_app, name="orgs")
    app.add_typer(workspaces_app, name="workspaces")


@orgs_app.command("list")
def list_orgs(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """List the organizations you can access."""
    orgs = make_client(ctx, workspace=False).list_orgs()
    if as_json:
        print_json(orgs)
    else:
        print_table(orgs, ["id", "name", "created_at"], title="organizations")


@workspaces_app.command("list")
def list_workspaces(
    ctx: typer.Context,
    org: str | None = typer.Option(None, "--org", help="Organization (default: the profile's)."),
    as_json: bool = JsonOption,
) -> None:
    """List the workspaces of an organization; the selected one is marked."""
    client = make_client(ctx, workspace=False)
    workspaces = client.list_workspaces(org or client.config.org_id)
    if as_json:
        print_json(workspaces)
        return
    current = client.config.workspace_id
    rows = [{**ws, "selected": "*" if ws.get("id") == current else ""} for ws in workspaces]
    print_table(rows, ["selected", "id", "name", "created_at"], title="workspaces")


@workspaces_app.command("use")
def use_workspace(
    ctx: typer.Context, workspace_id: str = typer.Argument(..., help="Workspace id or name.")
) -> None:
    """Select the workspace later commands use (saved in the profile)."""
    client = make_client(ctx, workspace=False)
    config = client.config
    workspaces = client.list_workspaces(config.org_id)
    match = [ws for ws in workspaces if workspace_id in (ws.get("id"), ws.get("name"))]
    if not match:
        echo_err(f"error: not found: workspace '{workspace_id}' is not in org {config.org_id}")
        raise typer.Exit(EXIT_NOT_FOUND)
    if "workspace_id" in config.from_env:
        echo_err("note: WORKSPACE_ID is set in the environment and overrides the profile")
    config.workspace_id = str(match[0]["id"])
    config.from_env = config.from_env - {"workspace_id"}
    config.save()
    echo(f"Using workspace {config.workspace_id} ({match[0].get('name')})")
