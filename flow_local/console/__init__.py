"""The web console of the local platform: executions, services, storage, vectors, gateway calls, audit.

Server-rendered pages (jinja2) with a little JavaScript for the live parts. The console is a client
of the platform's own API through the SDK, with the token of whoever logged in, so it sees exactly
what the API lets that token see. :func:`install_console` adds it to the application at ``/``; its
pages are imported when the first request reaches them (or earlier, by the application's background
start), not on the way to the platform's first answer.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp

from flow_local.console.gateway_log import RECORDED_OPERATIONS, GatewayCallRecorder
from flow_local.console.lazy import LazyRoutes
from flow_local.console.session import LoginRequired, login_redirect

__all__ = ["console_detours", "console_routes", "install_console"]


def console_routes() -> list[BaseRoute]:
    """The console's pages and static files."""
    from flow_local.console.routes import router, static_files

    return [*router.routes, Mount("/static/console", static_files, name="console-static")]


def install_console(app: FastAPI) -> None:
    """Route the console's pages and static files (after the API's routes; loaded on first use)."""
    app.router.routes.append(LazyRoutes(console_routes))
    app.add_exception_handler(LoginRequired, login_redirect)


def console_detours() -> dict[str, Callable[[ASGIApp], ASGIApp]]:
    """The paths whose requests the console watches, each with its wrapper: the gateway's chat and
    embedding calls, recorded for the call log (the platform middleware sends them through it)."""
    return dict.fromkeys(RECORDED_OPERATIONS, GatewayCallRecorder)
