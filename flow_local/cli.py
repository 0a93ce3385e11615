"""The ``flow local`` commands: serve, env, approve, reset, runner, services (also ``python -m flow_local``).

Heavy modules (FastAPI, the areas, NATS) are imported inside the commands that need them, so that
``flow local serve`` hands over to the platform process at once and ``--help`` answers quickly.
"""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer
from typer._click.core import Command, Context  # typer vendors click
from typer.core import TyperGroup

from flow_local.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

SERVER_FILE = "server.json"

DataDirOption = typer.Option(
    None, "--data-dir", help="Data directory (default: $FLOW_LOCAL_DATA_DIR or the user data dir)."
)


def _runner_command() -> Command:
    from flow_local.runtime.cli import runner_command

    holder = typer.Typer()
    holder.command("runner")(runner_command)
    return typer.main.get_command(holder)


def _services_group() -> Command:
    from flow_local.services_cli import services_app

    return typer.main.get_command(services_app)


class LocalGroup(TyperGroup):
    """``flow local``: its own commands, plus ``runner`` and ``services`` loaded when first used."""

    LAZY_COMMANDS: dict[str, Callable[[], Command]] = {
        "runner": _runner_command,
        "services": _services_group,
    }

    def list_commands(self, ctx: Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.LAZY_COMMANDS])

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        load = self.LAZY_COMMANDS.get(cmd_name)
        if load is not None:
            return load()
        return super().get_command(ctx, cmd_name)


local_app = typer.Typer(
    cls=LocalGroup,
    help="Run the Manifest Platform on this machine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
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
    direct: bool = typer.Option(
        False, "--direct", hidden=True, help="Serve in this process, without a supervising parent."
    ),
) -> None:
    """Start the local platform in the foreground (Ctrl+C stops it).

    Example: flow local serve --port 8080 --data-dir ~/flow-data
    """
    if not direct:
        from flow_local.supervisor import Supervisor

        args = ["serve", "--host", host, "--port", str(port), "--direct"]
        args += ["--data-dir", str(data_dir)] if data_dir is not None else []
        args += ["--quiet"] if quiet else []
        raise typer.Exit(Supervisor(args).run())
    _serve_here(host, port, data_dir, quiet)


def _serve_here(host: str, port: int, data_dir: Path | None, quiet: bool) -> None:
    """Build the app, print the banner, serve until SIGTERM, then close the database."""
    started = time.monotonic()
    import uvicorn

    from flow_local.app import create_app
    from flow_local.lifecycle_log import configure_lifecycle_log

    configure_lifecycle_log(quiet)
    settings = Settings.load(data_dir, host=host, port=port)
    app = create_app(settings)
    (settings.data_dir / SERVER_FILE).write_text(json.dumps({"url": settings.url}))
    if not quiet:
        _print_banner(app, settings, time.monotonic() - started)
    for signum in (signal.SIGINT, signal.SIGTERM):
        # uvicorn raises the signal that stopped it once more after its shutdown; a handler of
        # ours takes it, so the database below is still closed and the exit code stays 0.
        signal.signal(signum, _stop_signal_seen)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        app.state.platform.close()
        if not quiet:
            typer.echo("stopped database", err=True)


def _stop_signal_seen(signum: int, frame: FrameType | None) -> None:
    """Takes the stop signal uvicorn raises again after its orderly shutdown."""


def _print_banner(app: FastAPI, settings: Settings, seconds: float) -> None:
    defaults = app.state.platform.extras["defaults"]
    data_dir = shlex.quote(str(settings.data_dir))
    typer.echo(
        f"Manifest Platform (local) on {settings.url}  (app ready in {seconds:.1f} s)\n"
        f"  console    {settings.url}/\n"
        f"  data dir   {settings.data_dir}\n"
        f"  org        {defaults.org_id}\n"
        f"  workspace  {defaults.workspace_id}\n"
        f"  dev ring   {defaults.ring_id}\n"
        f'Get the environment for FlowSDK():  eval "$(flow local env --data-dir {data_dir})"\n'
        "Stop with Ctrl+C.",
    )


@local_app.command()
def env(data_dir: Path | None = DataDirOption) -> None:
    """Print `export VAR=...` lines for FlowSDK() against the local platform.

    Example: eval "$(flow local env --data-dir ~/flow-data)"
    """
    from flow_local.bootstrap import ensure_defaults, runtime_env
    from flow_local.core import Platform

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
    """Approve a pending CLI login request as the local admin.

    Example: flow local approve WDJB-MJHT
    """
    from flow_local.bootstrap import admin_token, ensure_defaults
    from flow_local.core import Platform
    from flow_sdk import CLIClient, FlowConfig
    from flow_sdk._errors import FlowSDKError
    from flow_sdk._generated.client.auth import build_approve_cli_login_request_request

    settings = Settings.load(data_dir)
    url = _recorded_url(settings)
    platform = Platform(settings)
    try:
        defaults = ensure_defaults(platform)
        token = admin_token(platform, defaults, ttl_seconds=300)
    finally:
        platform.close()
    config = FlowConfig(platform_url=url, access_token=token, org_id=defaults.org_id)
    try:
        with CLIClient(config) as client:
            client.send_request(build_approve_cli_login_request_request(body={"user_code": code}))
    except FlowSDKError as exc:
        where = f"cannot reach the local platform at {url}" if exc.status_code is None else "approval failed"
        typer.echo(f"error: {where}: {exc.detail or exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"approved login request {code}")


@local_app.command()
def reset(
    data_dir: Path | None = DataDirOption,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete everything the local platform stored (it must be stopped); the next start begins afresh.

    Example: flow local reset --data-dir ~/flow-data --yes
    """
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
    from flow_sdk import CLIClient, FlowConfig
    from flow_sdk._errors import FlowSDKError
    from flow_sdk._generated.client.system import build_get_health_request

    try:
        with CLIClient(FlowConfig(platform_url=url)) as client:
            client.send_request(build_get_health_request())
    except FlowSDKError:
        return False
    return True


__all__ = ["local_app"]
