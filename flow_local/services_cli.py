"""``flow local services``: deploy a hosted service to the local platform and read its logs."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import typer

from flow_local.bootstrap import admin_token, ensure_defaults
from flow_local.core import Platform
from flow_local.settings import Settings

services_app = typer.Typer(help="Hosted services on the local platform.", no_args_is_help=True)
DataDirOption = typer.Option(None, "--data-dir", help="Data directory of the running local platform.")
DEPLOY_TIMEOUT_SECONDS = 120.0


def _target(data_dir: Path | None) -> tuple[str, str, str, str]:
    """(url, org_id, workspace_id, short-lived admin token) of the local platform on ``data_dir``."""
    settings = Settings.load(data_dir)
    recorded = settings.data_dir / "server.json"
    url = json.loads(recorded.read_text())["url"] if recorded.exists() else settings.url
    platform = Platform(settings)
    try:
        defaults = ensure_defaults(platform)
        token = admin_token(platform, defaults, ttl_seconds=600)
    finally:
        platform.close()
    return str(url), defaults.org_id, defaults.workspace_id, token


def _parse_env(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"--env '{pair}' must look like NAME=value")
        env[name] = value
    return env


def _fail(response: httpx.Response) -> None:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    typer.echo(f"failed ({response.status_code}): {detail}", err=True)
    raise typer.Exit(1)


@services_app.command()
def deploy(
    service_id: str = typer.Argument(..., help="The service id, e.g. profile."),
    source_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Directory holding the app."),
    app: str = typer.Option("main:app", "--app", help="The ASGI app, module:attribute."),
    env: list[str] = typer.Option([], "--env", help="NAME=value for the service's environment (repeatable)."),
    component_id: str | None = typer.Option(
        None, "--component-id", help="Component whose state flow.state uses."
    ),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Deploy SOURCE_DIR as the next version of SERVICE_ID and print how to call it."""
    url, org_id, workspace_id, token = _target(data_dir)
    body = {
        "app": app,
        "source_dir": str(source_dir.resolve()),
        "env": _parse_env(env),
        "component_id": component_id,
    }
    endpoint = f"{url}/api/v1/orgs/{org_id}/workspaces/{workspace_id}/hosted-services/{service_id}/versions"
    try:
        response = httpx.post(
            endpoint, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=DEPLOY_TIMEOUT_SECONDS
        )
    except httpx.HTTPError as exc:
        typer.echo(
            f"cannot reach the local platform at {url}: {exc} (is `flow local serve` running?)", err=True
        )
        raise typer.Exit(1) from exc
    if response.status_code != 201:
        _fail(response)
    version = response.json()
    typer.echo(f"deployed {service_id} v{version['version']} ({version['status']})")
    typer.echo(f"  latest  {url}/api/v1/orgs/{org_id}/services/{service_id}/<path>")
    typer.echo(f"  pinned  {version['url']}/<path>")


@services_app.command()
def logs(
    service_id: str = typer.Argument(..., help="The service id."),
    version: int | None = typer.Option(None, "--version", help="Version (latest when omitted)."),
    tail: int = typer.Option(200, "--tail", help="How many lines."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Print the last lines a service version wrote."""
    url, org_id, workspace_id, token = _target(data_dir)
    params: dict[str, int] = {"tail": tail} if version is None else {"tail": tail, "version": version}
    endpoint = f"{url}/api/v1/orgs/{org_id}/workspaces/{workspace_id}/hosted-services/{service_id}/logs"
    response = httpx.get(endpoint, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=15)
    if response.status_code != 200:
        _fail(response)
    for line in response.json()["lines"]:
        typer.echo(line)
