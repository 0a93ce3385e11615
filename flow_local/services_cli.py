"""``flow local services``: deploy a hosted service to the local platform and read its logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

import typer

from flow_local.bootstrap import admin_token, ensure_defaults
from flow_local.core import Platform
from flow_local.settings import Settings
from flow_sdk import CLIClient, FlowConfig
from flow_sdk._errors import FlowSDKError
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.client.services import (
    build_deploy_hosted_service_version_request,
    build_get_hosted_service_logs_request,
    build_invoke_service_get_request,
)
from flow_sdk._generated.types import HostedServiceDeploy

services_app = typer.Typer(help="Hosted services on the local platform.", no_args_is_help=True)
DataDirOption = typer.Option(None, "--data-dir", help="Data directory of the running local platform.")
DEPLOY_TIMEOUT_SECONDS = 120.0
LOGS_TIMEOUT_SECONDS = 15.0
ResultT = TypeVar("ResultT")


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


def _client(url: str, org_id: str, token: str, timeout: float) -> CLIClient:
    """A CLIClient for the local platform at ``url`` with the admin ``token``."""
    config = FlowConfig(platform_url=url, access_token=token, org_id=org_id)
    return CLIClient(config).with_options(timeout=timeout)


def _send(client: CLIClient, request: ApiRequest[ResultT], url: str) -> ResultT:
    """Send one built request; a failure prints one line and exits 1."""
    try:
        return client.send_request(request)
    except FlowSDKError as exc:
        if exc.status_code is None:
            typer.echo(
                f"cannot reach the local platform at {url}: {exc.detail or exc.message}"
                " (is `flow local serve` running?)",
                err=True,
            )
        else:
            typer.echo(f"failed ({exc.status_code}): {exc.detail or exc.message}", err=True)
        raise typer.Exit(1) from None


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
    body: HostedServiceDeploy = {
        "app": app,
        "source_dir": str(source_dir.resolve()),
        "env": _parse_env(env),
        "component_id": component_id,
    }
    request = build_deploy_hosted_service_version_request(org_id, workspace_id, service_id, body=body)
    with _client(url, org_id, token, DEPLOY_TIMEOUT_SECONDS) as client:
        version = _send(client, request, url)
    latest = build_invoke_service_get_request(org_id, service_id, "")
    typer.echo(f"deployed {service_id} v{version['version']} ({version['status']})")
    typer.echo(f"  latest  {url}{latest.path}<path>")
    typer.echo(f"  pinned  {version.get('url')}/<path>")


@services_app.command()
def logs(
    service_id: str = typer.Argument(..., help="The service id."),
    version: int | None = typer.Option(None, "--version", help="Version (latest when omitted)."),
    tail: int = typer.Option(200, "--tail", help="How many lines."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Print the last lines a service version wrote."""
    url, org_id, workspace_id, token = _target(data_dir)
    request = build_get_hosted_service_logs_request(
        org_id, workspace_id, service_id, version=version, tail=tail
    )
    with _client(url, org_id, token, LOGS_TIMEOUT_SECONDS) as client:
        answer = _send(client, request, url)
    for line in answer["lines"]:
        typer.echo(line)
