"""``flow local runner``: join a local platform's execution queue from another shell."""

from __future__ import annotations

import asyncio
import contextlib
import os

import typer

from flow_local.runtime.runner import DEFAULT_WORKERS, run_runner


def runner_command(
    nats: str = typer.Option(
        os.environ.get("NATS_URL", ""),
        "--nats",
        help="NATS URL of the platform with the runner's credentials (nats://runner:PASSWORD@127.0.0.1:PORT;"
        " better set NATS_URL, which other users cannot see).",
    ),
    workers: int = typer.Option(DEFAULT_WORKERS, "--workers", help="Warm worker processes."),
) -> None:
    """Run executions from the platform's queue with a pool of warm workers (Ctrl+C to stop)."""
    if not nats:
        raise typer.BadParameter(
            "set NATS_URL=nats://runner:PASSWORD@127.0.0.1:PORT (the password is in <data dir>/nats/credentials.json)",
            param_hint="--nats",
        )
    os.environ["NATS_URL"] = nats
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_runner(nats, workers))
