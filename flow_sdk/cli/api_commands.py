"""``flow api METHOD PATH``: any platform request, authenticated with the profile, for what no command covers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from flow_sdk.cli.context import load_config, parse_json_object, state
from flow_sdk.cli.output import print_data

if TYPE_CHECKING:
    from flow_sdk.config import FlowConfig

__all__ = ["register"]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def register(app: typer.Typer) -> None:
    """Add the ``api`` command to ``app``."""
    app.command("api")(api)


def _parse_pairs(pairs: list[str]) -> dict[str, str]:
    """``["a=1"]`` -> ``{"a": "1"}``; anything else is a usage error."""
    query: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"--query takes NAME=VALUE, got {pair!r}")
        query[name] = value
    return query


def api(
    ctx: typer.Context,
    method: str = typer.Argument(..., help=f"HTTP method: {', '.join(METHODS)}."),
    path: str = typer.Argument(
        ..., help="Path under the platform URL; {org_id} and {workspace_id} are filled from the profile."
    ),
    body: str | None = typer.Option(None, "--body", "-d", help="JSON body (a JSON object)."),
    body_file: Path | None = typer.Option(None, "--body-file", help="A file holding the JSON body."),
    query: list[str] = typer.Option([], "--query", "-q", help="Query parameter NAME=VALUE (repeatable)."),
) -> None:
    """Send one request to the platform API with your credentials and print the answer.

    \b
    Examples:
      flow api GET /api/v1/auth/me
      flow api GET '/api/v1/orgs/{org_id}/workspaces/{workspace_id}/executions' -q status=failed
      flow api POST '/api/v1/orgs/{org_id}/audit/logs' -d '{"action": "x", "resource_type": "y"}'
    """
    verb = method.upper()
    if verb not in METHODS:
        raise typer.BadParameter(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not path.startswith("/"):
        raise typer.BadParameter(f"the path must start with /, got {path!r}")
    payload = (
        parse_json_object(body, body_file, "--body") if body is not None or body_file is not None else None
    )
    config = load_config(ctx).require(workspace=False).ensure_fresh_token()
    filled = path.replace("{org_id}", config.org_id).replace("{workspace_id}", config.workspace_id)
    print_data(_send(ctx, config, verb, filled, payload, _parse_pairs(query)))


def _send(
    ctx: typer.Context,
    config: FlowConfig,
    verb: str,
    path: str,
    payload: dict[str, Any] | None,
    query: dict[str, str],
) -> Any:
    """Send the request through the SDK's transport; a 4xx/5xx raises the SDK's typed error."""
    import httpx

    from flow_sdk._errors import raise_for_response, translate_errors
    from flow_sdk._transport import BearerAuth, build_sync_client

    refresher = config.refresh_access_token if config.api_key else None
    state(ctx).platform_url = config.platform_url
    with (
        build_sync_client(config.platform_url, BearerAuth(config.access_token, refresher)) as client,
        translate_errors("cli"),
    ):
        response: httpx.Response = client.request(verb, path, json=payload, params=query or None)
        raise_for_response(response, "cli")
    if not response.content:
        return {"status_code": response.status_code}
    try:
        return response.json()
    except json.JSONDecodeError:
        sys.stdout.write(response.text)
        raise typer.Exit() from None
