"""The web console of the local platform: executions, services, storage, vectors, gateway calls, audit.

Server-rendered pages (jinja2) with a little JavaScript for the live parts. The console is a client
of the platform's own API through the SDK, with the token of whoever logged in, so it sees exactly
what the API lets that token see. :func:`install_console` adds it to the application at ``/``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from starlette.types import ASGIApp

from flow_local.console.gateway_log import RECORDED_OPERATIONS, GatewayCallRecorder
from flow_local.console.routes import login_redirect, router, static_files
from flow_local.console.session import LoginRequired

__all__ = ["console_detours", "install_console"]


def install_console(app: FastAPI) -> None:
    """Mount the console's pages and static files."""
    app.include_router(router)
    app.mount("/static/console", static_files, name="console-static")
    app.add_exception_handler(LoginRequired, login_redirect)


def console_detours() -> dict[str, Callable[[ASGIApp], ASGIApp]]:
    """The paths whose requests the console watches, each with its wrapper: the gateway's chat and
    embedding calls, recorded for the call log (the platform middleware sends them through it)."""
    return dict.fromkeys(RECORDED_OPERATIONS, GatewayCallRecorder)
