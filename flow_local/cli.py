"""The ``flow local`` commands: serve, env, approve (also ``python -m flow_local``)."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import httpx
import typer

from flow_local.bootstrap import admin_token, ensure_defaults, runtime_env
from flow_local.core import Platform
from flow_local.settings import Settings

SERVER_FILE = "server.json"

local_app = typer.Typer(help="Run the Manifest Platform on this machine.", no_args_is_help=True)

DataDirOption = typer.Option(
    None, "--data-dir", help="Data directory (default: $FLOW_LOCAL_DATA_DIR or the user data dir)."
)


def _recorded_url(settings: Settings) -> str:
    """The URL the last `serve` on this data dir recorded, or the default one."""
    path = settings.data_dir / SERVER_FILE
    if path.exists():
        return str(json.loads(path.read_text())["url"])
    return settings.url


@local_app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8080, help="TCP port."),
    data_dir: Path | None = DataDirOption,
    quiet: bool = typer.Option(False, help="No banner, warnings only."),
) -> None:
    """Start the local platform in the foreground."""
    import uvicorn

    from flow_local.app import create_app

    settings = Settings.load(data_dir, host=host, port=port)
    app = create_app(settings)
    (settings.data_dir / SERVER_FILE).write_text(json.dumps({"url": settings.url}))
    if not quiet:
        defaults = app.state.platform.extras["defaults"]
        typer.echo(
            f"Manifest Platform (local) on {settings.url}\n"
            f"  data dir   {settings.data_dir}\n"
            f"  org        {defaults.org_id}\n"
            f"  workspace  {defaults.workspace_id}\n"
            f"  dev ring   {defaults.ring_id}\n"
            f'Get the environment for FlowSDK():  eval "$(flow local env --data-dir {shlex.quote(str(settings.data_dir))})"\n'
            "Stop with Ctrl+C."
        )
    uvicorn.run(app, host=host, port=port, log_level="warning" if quiet else "info")


@local_app.command()
def env(data_dir: Path | None = DataDirOption) -> None:
    """Print `export VAR=...` lines for FlowSDK() against the local platform."""
    settings = Settings.load(data_dir)
    settings.public_url = _recorded_url(settings)
    platform = Platform(settings)
    try:
        variables = runtime_env(platform, ensure_defaults(platform))
    finally:
        platform.close()
    for name, value in variables.items():
        typer.echo(f"export {name}={shlex.quote(value)}")


@local_app.command()
def approve(
    code: str = typer.Argument(..., help="The user code the CLI login shows, e.g. WDJB-MJHT."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Approve a pending CLI login request as the local admin."""
    settings = Settings.load(data_dir)
    url = _recorded_url(settings)
    platform = Platform(settings)
    try:
        token = admin_token(platform, ensure_defaults(platform), ttl_seconds=300)
    finally:
        platform.close()
    try:
        response = httpx.post(
            f"{url}/api/v1/auth/cli-login-requests/approve",
            json={"user_code": code},
            headers={"Authorization": f"Bearer {token}"},
            timeout=15.0,
        )
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach the local platform at {url}: {exc}", err=True)
        raise typer.Exit(1) from exc
    if response.status_code != 200:
        typer.echo(f"approval failed ({response.status_code}): {response.json().get('detail')}", err=True)
        raise typer.Exit(1)
    typer.echo(f"approved login request {code}")


@local_app.command()
def reset(
    data_dir: Path | None = DataDirOption,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete everything the local platform stored (it must be stopped); the next start begins afresh."""
    settings = Settings.load(data_dir)
    url = _recorded_url(settings)
    if _answers(url):
        typer.echo(f"error: a platform is running on {settings.data_dir} ({url}); stop it first", err=True)
        raise typer.Exit(1)
    if not yes:
        typer.confirm(f"Delete everything in {settings.data_dir}?", abort=True, err=True)
    for entry in settings.data_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    typer.echo(f"reset {settings.data_dir}")


def _answers(url: str) -> bool:
    """True when a platform answers its health check at ``url``."""
    try:
        return httpx.get(f"{url}/api/v1/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


from flow_local.runtime.cli import runner_command  # noqa: E402

local_app.command("runner")(runner_command)

from flow_local.runtime.services.cli import services_app  # noqa: E402

local_app.add_typer(services_app, name="services")
