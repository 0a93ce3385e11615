"""The ``flow`` command: log in, browse orgs and workspaces, manage components, run them, call services.

Every SDK error ends the command with one line on stderr and a documented exit code:
0 ok, 1 API error, 2 usage, 3 authentication, 4 not found, 5 connection.
``flow local ...`` (the local platform) is loaded only when used, so ``flow --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

import click
import typer
from typer.core import TyperGroup

from flow_sdk.cli import auth_commands, component_commands, run_commands, service_commands, tenancy_commands
from flow_sdk.cli.context import describe_error, state

__all__ = ["app", "main"]


class FlowGroup(TyperGroup):
    """The root group: turns SDK errors into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from flow_sdk._errors import FlowSDKError

            if not isinstance(exc, FlowSDKError):
                raise
            code, line = describe_error(exc, state(ctx).platform_url)  # type: ignore[arg-type]
            click.echo(line, err=True)
            raise typer.Exit(code) from None


class LazyLocalGroup(click.Group):
    """``flow local``: a stand-in that loads ``flow_local.cli.local_app`` on first real use."""

    def __init__(self) -> None:
        super().__init__(name="local", help="Run the Manifest Platform on this machine (serve, env, approve).")
        self._real: click.Group | None = None

    def _load(self) -> click.Group:
        if self._real is None:
            try:
                from flow_local.cli import local_app
            except ImportError as exc:
                raise click.ClickException(
                    f"the local platform is not installed ({exc.name} is missing): pip install 'flow-sdk[local]'"
                ) from None
            command = typer.main.get_command(local_app)
            if not isinstance(command, click.Group):
                raise click.ClickException("flow_local.cli.local_app is not a command group")
            self._real = command
        return self._real

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._load().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load().get_command(ctx, cmd_name)


app = typer.Typer(
    name="flow",
    cls=FlowGroup,
    help="The Manifest Platform from your terminal. Start with `flow login`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    profile: str | None = typer.Option(
        None, "--profile", "-p", envvar="FLOW_PROFILE", help="Config profile to use (default: the current one)."
    ),
) -> None:
    """The Manifest Platform from your terminal. Start with `flow login`.

    Exit codes: 0 ok, 1 API error, 2 usage, 3 authentication, 4 not found, 5 connection.
    """
    state(ctx).profile = profile


auth_commands.register(app)
tenancy_commands.register(app)
component_commands.register(app)
run_commands.register(app)
service_commands.register(app)


def _mount_local() -> None:
    command = typer.main.get_command(app)
    if isinstance(command, click.Group):
        command.add_command(LazyLocalGroup())


def main() -> None:
    """Run the ``flow`` command (with ``flow local`` mounted)."""
    command = typer.main.get_command(app)
    if isinstance(command, click.Group):
        command.add_command(LazyLocalGroup())
    command()
