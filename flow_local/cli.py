"""The ``flow local`` commands: serve, env, approve, reset, runner, services (also ``python -m flow_local``).

Heavy modules (FastAPI, the areas, NATS) are imported inside the commands that need them, so that
``flow local serve`` hands over to the platform process at once and ``--help`` answers quickly.
"""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import typer
from typer._click.core import Command, Context  # typer vendors click
from typer.core import TyperGroup

from flow_local.serving import SERVER_FILE, child_arguments, serve_here
from flow_local.settings import Settings

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
    exit_on_stdin_close: bool = typer.Option(
        False, "--exit-on-stdin-close", hidden=True, help="With --direct: stop when stdin closes."
    ),
) -> None:
    """Start the local platform in the foreground (Ctrl+C stops it).

    Example: flow local serve --port 8080 --data-dir ~/flow-data
    """
    if not direct:
        from flow_local.supervisor import Supervisor

        raise typer.Exit(Supervisor(child_arguments(host, port, data_dir, quiet)).run())
    serve_here(host, port, data_dir, quiet, exit_on_stdin_close)


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
