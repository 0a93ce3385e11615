"""``flow local runner``: join a local platform's execution queue from another shell."""

from __future__ import annotations

import asyncio
import contextlib
import os

import typer

from flow_local.runtime.runner import DEFAULT_WORKERS, run_runner


def runner_command(
    nats: str = typer.Option(
        os.environ.get("NATS_URL", ""), "--nats", help="NATS URL of the platform (nats://127.0.0.1:PORT)."
    ),
    workers: int = typer.Option(DEFAULT_WORKERS, "--workers", help="Warm worker processes."),
) -> None:
    """Run executions from the platform's queue with a pool of warm workers (Ctrl+C to stop)."""
    if not nats:
        raise typer.BadParameter("pass --nats nats://127.0.0.1:PORT or set NATS_URL", param_hint="--nats")
    os.environ["NATS_URL"] = nats
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_runner(nats, workers))
