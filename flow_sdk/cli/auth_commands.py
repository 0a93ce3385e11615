"""``flow login``, ``flow logout`` and ``flow whoami``."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import typer

from flow_sdk._generated.types import CliLoginStatus
from flow_sdk.cli.context import EXIT_NOT_FOUND, JsonOption, load_config, make_client, state
from flow_sdk.cli.output import echo, echo_err, print_json, print_record, status

if TYPE_CHECKING:
    from flow_sdk.config import FlowConfig

__all__ = ["register"]

DEFAULT_URL = "http://127.0.0.1:8080"


def register(app: typer.Typer) -> None:
    """Add the authentication commands to ``app``."""
    app.command()(login)
    app.command()(logout)
    app.command()(whoami)


def login(
    ctx: typer.Context,
    api_key: str | None = typer.Option(
        None,
        "--api-key",
        envvar="FLOW_API_KEY",
        help="Log in with an org API key (fl_...); `-` reads it from stdin. Without it, a login code is shown.",
    ),
    url: str | None = typer.Option(
        None, "--url", help=f"Platform URL (default: the profile's, else {DEFAULT_URL})."
    ),
    workspace: str | None = typer.Option(
        None, "--workspace", "-w", help="Workspace to select, by id or name."
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", help="Seconds to wait for the login code's approval."
    ),
) -> None:
    """Log in and save the credentials to the profile (mode 0600)."""
    from flow_sdk.cli_client import CLIClient
    from flow_sdk.config import FlowConfig

    previous = load_config(ctx)
    platform_url = (url or previous.platform_url or DEFAULT_URL).rstrip("/")
    state(ctx).platform_url = platform_url
    if api_key == "-":
        api_key = sys.stdin.readline().strip()
    if api_key:
        token = CLIClient.exchange_api_key(platform_url, api_key)
        approved: Mapping[str, Any] = {}
    else:
        approved = _login_by_code(platform_url, timeout)
        token = str(approved.get("access_token"))
    me = CLIClient.get_current_user_with_token(platform_url, token)
    config = FlowConfig(
        platform_url=platform_url,
        access_token=token,
        org_id=str(me["org_id"]),
        api_key=api_key or None,
        profile=previous.profile,
        path=previous.path,
    )
    if workspace:
        config.workspace_id = _workspace_id(config, workspace)
    else:
        config.workspace_id = me.get("workspace_id") or approved.get("workspace_id") or ""
    if not config.workspace_id:
        config.workspace_id = _default_workspace(config)
    path = config.save(make_current=True)
    echo(
        f"Logged in to {platform_url} as {me.get('name') or me['subject_id']} "
        f"(org {config.org_id}, workspace {config.workspace_id or 'none'})."
    )
    echo(f"Profile '{config.profile}' saved to {path}")


def _login_by_code(platform_url: str, timeout: float | None) -> CliLoginStatus:
    """Create a CLI login request, show its code, and poll until it is approved."""
    from flow_sdk.cli_client import CLIClient

    request = CLIClient.create_cli_login_request(platform_url)
    code = request["user_code"]
    echo_err(f"To log in, approve code {code} at {request['verification_url']}")
    echo_err(f"(on a local platform: flow local approve {code})")
    with status(f"Waiting for approval of {code}..."):
        return CLIClient.wait_for_cli_login(platform_url, request, timeout_seconds=timeout)


def _workspace_id(config: FlowConfig, wanted: str) -> str:
    """The id of the org's workspace whose id or name is ``wanted``; exit 4 naming the choices if none."""
    from flow_sdk.cli_client import CLIClient

    with CLIClient(config) as client:
        workspaces = client.list_workspaces(config.org_id)
    for ws in workspaces:
        if wanted in (ws.get("id"), ws.get("name")):
            return str(ws["id"])
    names = ", ".join(str(ws.get("name")) for ws in workspaces) or "none"
    echo_err(f"error: not found: no workspace '{wanted}' in org {config.org_id} (workspaces: {names})")
    raise typer.Exit(EXIT_NOT_FOUND)


def _default_workspace(config: FlowConfig) -> str:
    """The org's workspace named ``default``, else its first one, else ""."""
    from flow_sdk.cli_client import CLIClient

    with CLIClient(config) as client:
        workspaces = client.list_workspaces(config.org_id)
    named = [ws for ws in workspaces if ws.get("name") == "default"]
    chosen = named or workspaces
    if len(workspaces) > 1:
        echo_err(
            f"{len(workspaces)} workspaces; selected {chosen[0]['id']} (change with `flow workspaces use`)"
        )
    return str(chosen[0]["id"]) if chosen else ""


def logout(ctx: typer.Context) -> None:
    """Remove the profile's saved credentials."""
    config = load_config(ctx)
    if config.delete():
        echo(f"Logged out: profile '{config.profile}' removed from {config.path}")
    else:
        echo(f"Not logged in (no profile '{config.profile}' in {config.path})")


def whoami(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """Show who the saved credentials belong to."""
    client = make_client(ctx)
    me = client.get_current_user()
    config = client.config
    record = {
        "profile": config.profile,
        "platform_url": config.platform_url,
        "subject_id": me.get("subject_id"),
        "name": me.get("name"),
        "token_type": me.get("token_type"),
        "org_id": config.org_id,
        "workspace_id": config.workspace_id,
        "scopes": me.get("scopes"),
        "expires_at": me.get("expires_at"),
    }
    if as_json:
        print_json(record)
    else:
        print_record(record)
