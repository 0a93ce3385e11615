"""The ``flow`` command: log in, browse orgs and workspaces, manage components, run them, call services.

Every SDK error ends the command with one line on stderr and a documented exit code:
0 ok, 1 API error, 2 usage, 3 authentication, 4 not found, 5 connection. Usage errors are one line
too. ``flow local ...`` (the local platform), rich and the HTTP stack are loaded only when a command
needs them, so ``flow --help`` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer._click.core import Command, Context  # typer vendors click
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from flow_sdk.cli import (
    api_commands,
    auth_commands,
    component_commands,
    run_commands,
    service_commands,
    tenancy_commands,
)
from flow_sdk.cli.context import EXIT_API, EXIT_USAGE, describe_error, state
from flow_sdk.cli.output import OutputFormat, echo, echo_err, set_output_format

__all__ = ["app"]

DISTRIBUTION = "manifest-flow-sdk"


class FlowGroup(TyperGroup):
    """The root group: SDK errors and usage errors become one line on stderr and an exit code."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from flow_sdk._errors import FlowSDKError

            if not isinstance(exc, FlowSDKError):
                raise
            code, line = describe_error(exc, state(ctx).platform_url)  # type: ignore[arg-type]
            echo_err(line)
            raise typer.Exit(code) from None

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(EXIT_USAGE)
        except UsageError as exc:
            echo_err(f"error: {exc.format_message()}{_help_hint(exc.ctx)}")
            sys.exit(EXIT_USAGE)
        except ClickException as exc:
            echo_err(f"error: {exc.format_message()}")
            sys.exit(exc.exit_code)
        except typer.Abort:
            echo_err("aborted")
            sys.exit(EXIT_API)
        sys.exit(code if isinstance(code, int) else 0)


def _help_hint(ctx: Context | None) -> str:
    return f" (see `{ctx.command_path} --help`)" if ctx is not None else ""


COMMANDS_ENTRY_POINT_GROUP = "flow_sdk.commands"


def _command_app(name: str) -> typer.Typer:
    """The typer app registered under ``name`` in the ``flow_sdk.commands`` entry-point group.

    The local platform registers its ``local`` and ``platform`` groups there, so this package never
    imports it by name.

    Raises:
        ImportError: Nothing is registered under ``name``, or its module cannot be imported.
    """
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=COMMANDS_ENTRY_POINT_GROUP, name=name):
        loaded = entry_point.load()
        if isinstance(loaded, typer.Typer):
            return loaded
    raise ImportError(f"no `flow {name}` commands are registered", name=name)


class LazyLocalGroup(TyperGroup):
    """``flow local``: a stand-in that loads the registered ``local`` commands on first real use."""

    _real: TyperGroup | None = None
    _entry_point = "local"

    def _load(self) -> TyperGroup:
        if self._real is None:
            try:
                local_app = _command_app(self._entry_point)
            except ImportError as exc:
                echo_err(
                    f"error: the local platform is not installed ({exc.name} is missing): "
                    "pip install 'manifest-flow-sdk[local]'"
                )
                raise typer.Exit(EXIT_USAGE) from None
            command = typer.main.get_command(local_app)
            if not isinstance(command, TyperGroup):
                raise TypeError(f"{type(self).__name__} must load a typer app with commands")
            self._real = command
        return self._real

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self._load().list_commands(ctx))

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        found: Command | None = self._load().get_command(ctx, cmd_name)
        return found


class LazyPlatformGroup(LazyLocalGroup):
    """``flow platform``: loads the registered ``platform`` commands on first real use."""

    _real: TyperGroup | None = None
    _entry_point = "platform"


app = typer.Typer(
    name="flow",
    cls=FlowGroup,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            echo(f"flow {version(DISTRIBUTION)}")
        except PackageNotFoundError:
            echo(f"flow (version unknown: the {DISTRIBUTION} package is not installed)")
        raise typer.Exit()


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
    output: OutputFormat = typer.Option(
        OutputFormat.TABLE,
        "--output",
        "-o",
        case_sensitive=False,
        help="How to print results: table (default), json, yaml or tsv.",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """The Manifest Platform from your terminal. Start with `flow login`.

    \b
    Examples:
      flow local serve                       start a platform on this machine
      flow login --url http://127.0.0.1:8080 --api-key fl_...
      flow run code-block word-count --input '{"text": "one two"}'
      flow executions list -o json
      flow api GET /api/v1/auth/me

    Exit codes: 0 ok, 1 API error, 2 usage, 3 authentication, 4 not found, 5 connection.
    Colours and box characters are used only on a terminal and never with NO_COLOR set.
    """
    state(ctx).profile = profile
    set_output_format(output)


auth_commands.register(app)
tenancy_commands.register(app)
component_commands.register(app)
run_commands.register(app)
service_commands.register(app)
api_commands.register(app)
app.add_typer(
    typer.Typer(cls=LazyLocalGroup, no_args_is_help=True),
    name="local",
    help="Run the Manifest Platform on this machine (serve, env, approve, reset, runner, services).",
)
app.add_typer(
    typer.Typer(cls=LazyPlatformGroup, no_args_is_help=True),
    name="platform",
    help="Run the Manifest Platform as a service (serve on engines chosen by URL; keys rotate|list).",
)


@app.command(
    "runner",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    help="Run executions on this host for a platform's NATS cluster (--nats URLS, --creds FILE; --help).",
)
def runner(ctx: typer.Context) -> None:
    """``flow runner``: hand the arguments to the registered ``runner`` command."""
    try:
        runner_app = _command_app("runner")
    except ImportError as exc:
        echo_err(
            f"error: the runner is not installed ({exc.name} is missing): pip install 'manifest-flow-sdk[local]'"
        )
        raise typer.Exit(EXIT_USAGE) from None
    typer.main.get_command(runner_app).main(ctx.args, prog_name=ctx.command_path, standalone_mode=False)
