"""What every ``flow`` command shares: the selected profile, the client, input parsing and exit codes.

Exit codes: 0 ok, 1 API error, 2 usage, 3 authentication, 4 not found, 5 connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

if TYPE_CHECKING:
    from flow_sdk.cli_client import CLIClient
    from flow_sdk.config import FlowConfig

__all__ = [
    "EXIT_API",
    "EXIT_AUTH",
    "EXIT_CONNECTION",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliState",
    "JsonOption",
    "describe_error",
    "load_config",
    "make_client",
    "parse_json_object",
    "state",
]

EXIT_OK = 0
EXIT_API = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_CONNECTION = 5

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")


@dataclass
class CliState:
    """Options of the root command, kept on the click context.

    Attributes:
        profile: The profile named with ``--profile`` (None: FLOW_PROFILE or the current one).
        platform_url: The URL of the last client built, for connection error messages.
    """

    profile: str | None = None
    platform_url: str | None = None


def state(ctx: typer.Context) -> CliState:
    """The :class:`CliState` of the running command tree."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def load_config(ctx: typer.Context) -> FlowConfig:
    """Load the selected profile (environment overrides applied); nothing is required yet."""
    from flow_sdk.config import FlowConfig

    config = FlowConfig.load(state(ctx).profile)
    state(ctx).platform_url = config.platform_url or None
    return config


def make_client(ctx: typer.Context, *, workspace: bool = True) -> CLIClient:
    """A :class:`CLIClient` for the selected profile, with its token refreshed when it expired.

    Raises:
        ConfigurationError: Not logged in, or no org/workspace selected.
    """
    from flow_sdk.cli_client import CLIClient

    config = load_config(ctx).require(workspace=workspace).ensure_fresh_token()
    client = CLIClient(config)
    ctx.call_on_close(client.close)
    return client


def parse_json_object(text: str | None, file: Path | None, what: str) -> dict[str, Any]:
    """Parse a JSON object given inline or in a file; a bad value is a usage error (exit 2)."""
    if text is not None and file is not None:
        raise typer.BadParameter(f"give {what} inline or as a file, not both")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {what} file {file}: {exc.strerror}") from None
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise typer.BadParameter(f"{what} must be a JSON object, got {type(value).__name__}")
    return cast("dict[str, Any]", value)


def describe_error(exc: Exception, platform_url: str | None) -> tuple[int, str]:
    """Return (exit code, one line) for an SDK error.

    Args:
        exc: A :class:`~flow_sdk.FlowSDKError`.
        platform_url: The platform the command talked to, for connection errors.
    """
    from flow_sdk._errors import ConfigurationError, ExecutionTimeoutError, FlowSDKError

    if not isinstance(exc, FlowSDKError):
        return EXIT_API, f"error: {exc}"
    status = exc.status_code
    detail = exc.detail or exc.message
    suffix = f" (request {exc.request_id})" if exc.request_id else ""
    if isinstance(exc, ConfigurationError):
        return EXIT_AUTH if exc.code in ("not_logged_in", "token_expired") else EXIT_USAGE, f"error: {detail}"
    if status is None and exc.code == "missing_configuration":
        return EXIT_USAGE, f"error: {detail}"
    if status is None and exc.code == "transport_error":
        where = platform_url or "the platform"
        return EXIT_CONNECTION, f"error: cannot reach {where}: {detail}"
    if status in (401, 403) or exc.code in ("login_expired", "login_consumed", "login_timeout"):
        hint = " (check your credentials or run `flow login`)" if status == 401 else ""
        return EXIT_AUTH, f"error: authentication failed: {detail}{hint}{suffix}"
    if status == 404:
        return EXIT_NOT_FOUND, f"error: not found: {detail}{suffix}"
    if isinstance(exc, ExecutionTimeoutError):
        return EXIT_API, f"error: {exc.message}"
    if status is not None:
        return EXIT_API, f"error: HTTP {status}: {detail}{suffix}"
    return EXIT_API, f"error: {exc.message.splitlines()[0]}"
