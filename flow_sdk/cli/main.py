"""The ``flow`` command: log in, browse orgs and workspaces, manage components, run them, call services.

Every SDK error ends the command with one line on stderr and a documented exit code:
0 ok, 1 API error, 2 usage, 3 authentication, 4 not found, 5 connection.
``flow local ...`` (the local platform) is loaded only when used, so ``flow --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from flow_sdk._metadata import install_hint
from flow_sdk.cli import auth_commands, component_commands, run_commands, service_commands, tenancy_commands
from flow_sdk.cli.context import EXIT_USAGE, describe_error, state

__all__ = ["app"]


class FlowGroup(TyperGroup):
    """The root group: turns SDK errors into one line and an exit code."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from flow_sdk._errors import FlowSDKError

            if not isinstance(exc, FlowSDKError):
                raise
            code, line = describe_error(exc, state(ctx).platform_url)  # type: ignore[arg-type]
            typer.echo(line, err=True)
            raise typer.Exit(code) from None


class LazyLocalGroup(TyperGroup):
    """``flow local``: a stand-in that loads ``flow_local.cli.local_app`` on first real use."""

    _real: TyperGroup | None = None

    @staticmethod
    def _import_app() -> typer.Typer:
        from flow_local.cli import local_app

        return local_app

    def _load(self) -> TyperGroup:
        if self._real is None:
            try:
                local_app = self._import_app()
            except ImportError as exc:
                typer.echo(
                    f"error: the local platform is not installed ({exc.name} is missing): "
                    + install_hint("local"),
                    err=True,
                )
                raise typer.Exit(EXIT_USAGE) from None
            command = typer.main.get_command(local_app)
            if not isinstance(command, TyperGroup):
                raise TypeError(f"{type(self).__name__} must load a typer app with commands")
            self._real = command
        return self._real

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return self._load().list_commands(ctx)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        return self._load().get_command(ctx, cmd_name)


class LazyPlatformGroup(LazyLocalGroup):
    """``flow platform``: loads ``flow_local.platform_cli.platform_app`` on first real use."""

    _real: TyperGroup | None = None

    @staticmethod
    def _import_app() -> typer.Typer:
        from flow_local.platform_cli import platform_app

        return platform_app


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
        None,
        "--profile",
        "-p",
        envvar="FLOW_PROFILE",
        help="Config profile to use (default: the current one).",
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
app.add_typer(
    typer.Typer(cls=LazyLocalGroup, no_args_is_help=True),
    name="local",
    help="Run the Manifest Platform on this machine (serve, env, approve).",
)
app.add_typer(
    typer.Typer(cls=LazyPlatformGroup, no_args_is_help=True),
    name="platform",
    help="Run the Manifest Platform as a service (serve, with PostgreSQL and S3 chosen by URL).",
)
