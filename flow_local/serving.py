"""Serve the platform in this process: build the app, print the banner, run uvicorn until SIGTERM.

``flow local serve`` runs this in a child process (:mod:`flow_local.supervisor`) started as
``python -m flow_local.serving OPTIONS-AS-JSON``: that entry point imports no command-line library,
so the child goes straight to the platform. ``flow local serve --direct`` calls :func:`serve_here`.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from flow_local.settings import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

SERVER_FILE = "server.json"
"""The file of the data dir where a serving platform records its URL."""


def serve_here(
    host: str, port: int, data_dir: Path | None, quiet: bool, exit_on_stdin_close: bool = False
) -> None:
    """Build the app, print the banner, serve until SIGTERM, then close the database.

    With ``exit_on_stdin_close`` the end of stdin stops it as SIGTERM does: a parent that holds the other
    end of the pipe (a test's platform) takes the platform down with it even when it is killed.
    """
    started = time.monotonic()
    import uvicorn

    from flow_local.app import create_app
    from flow_local.lifecycle_log import configure_lifecycle_log

    configure_lifecycle_log(quiet)
    settings = Settings.load(data_dir, host=host, port=port)
    app = create_app(settings)
    (settings.data_dir / SERVER_FILE).write_text(json.dumps({"url": settings.url}))
    if not quiet:
        print_banner(app, settings, time.monotonic() - started)
    for signum in (signal.SIGINT, signal.SIGTERM):
        # uvicorn raises the signal that stopped it once more after its shutdown; a handler of
        # ours takes it, so the database below is still closed and the exit code stays 0.
        signal.signal(signum, _stop_signal_seen)
    if exit_on_stdin_close:
        threading.Thread(target=_stop_at_end_of_stdin, name="flow-stdin-watch", daemon=True).start()
    try:
        # No route takes a WebSocket: ws="none" spares loading a WebSocket implementation.
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, ws="none")
    finally:
        app.state.platform.close()
        if not quiet:
            print("stopped database", file=sys.stderr, flush=True)


def _stop_at_end_of_stdin() -> None:
    """Read stdin to its end (the parent closed it or died), then stop the platform with SIGTERM."""
    sys.stdin.buffer.read()
    os.kill(os.getpid(), signal.SIGTERM)


def _stop_signal_seen(signum: int, frame: FrameType | None) -> None:
    """Takes the stop signal uvicorn raises again after its orderly shutdown."""


def print_banner(app: Starlette, settings: Settings, seconds: float) -> None:
    """Where the platform serves, its data dir and default tenants, and how to use and stop it."""
    defaults = app.state.platform.extras["defaults"]
    data_dir = shlex.quote(str(settings.data_dir))
    print(
        f"Manifest Platform (local) on {settings.url}  (app ready in {seconds:.1f} s)\n"
        f"  console    {settings.url}/\n"
        f"  data dir   {settings.data_dir}\n"
        f"  org        {defaults.org_id}\n"
        f"  workspace  {defaults.workspace_id}\n"
        f"  dev ring   {defaults.ring_id}\n"
        f'Get the environment for FlowSDK():  eval "$(flow local env --data-dir {data_dir})"\n'
        "Stop with Ctrl+C.",
        flush=True,
    )


def child_arguments(host: str, port: int, data_dir: Path | None, quiet: bool) -> list[str]:
    """The arguments after ``python -m flow_local.serving`` that make :func:`main` call :func:`serve_here`."""
    options = {
        "host": host,
        "port": port,
        "data_dir": None if data_dir is None else str(data_dir),
        "quiet": quiet,
    }
    return [json.dumps(options)]


def main(argv: list[str]) -> None:
    """``python -m flow_local.serving OPTIONS-AS-JSON`` (written by :func:`child_arguments`)."""
    options: dict[str, Any] = json.loads(argv[0])
    data_dir = options["data_dir"]
    serve_here(
        str(options["host"]),
        int(options["port"]),
        None if data_dir is None else Path(data_dir),
        bool(options["quiet"]),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
