"""``flow runner``: run executions on this host for a platform whose NATS cluster is elsewhere.

The runner joins the cluster with credentials that allow only the runner subjects (pull jobs, read
inputs, publish outputs, events, status and heartbeats, receive kill requests) and runs every execution
in a warm worker with the same confinement as the local runner. The password is read from
``FLOW_NATS_PASSWORD`` (or a URL), never from a command-line option other users could see::

    FLOW_NATS_USER=runner FLOW_NATS_PASSWORD=... flow runner --nats nats://a:4222,nats://b:4222,nats://c:4222
    flow runner --nats nats://a:4222 --creds runner.creds

A cluster in operator mode takes the credentials file; ``python -m flow_local.cluster.nats_operator DIR``
makes one (``runner.creds``) whose user may use only the runner subjects.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import typer

from flow_local.runtime.nats_endpoint import NatsEndpoint, NatsEndpointError
from flow_local.runtime.runner import DEFAULT_WORKERS, run_runner

runner_app = typer.Typer(add_completion=False)


@runner_app.command()
def runner(
    nats: str = typer.Option(
        "",
        "--nats",
        envvar="FLOW_NATS_URL",
        help="The NATS cluster's URLs, comma-separated (nats://a:4222,nats://b:4222,nats://c:4222).",
    ),
    creds: Path | None = typer.Option(
        None,
        "--creds",
        envvar="FLOW_NATS_CREDS",
        help="NATS credentials file (.creds: user JWT and NKey seed) for a server in operator mode.",
    ),
    user: str = typer.Option(
        "", "--user", envvar="FLOW_NATS_USER", help="NATS user (its password from FLOW_NATS_PASSWORD)."
    ),
    workers: int = typer.Option(DEFAULT_WORKERS, "--workers", min=1, help="Warm worker processes."),
) -> None:
    """Join a platform's NATS cluster and run its executions here (Ctrl+C to stop)."""
    if not nats:
        raise typer.BadParameter("give the cluster's URLs (or set FLOW_NATS_URL)", param_hint="--nats")
    try:
        endpoint = NatsEndpoint.parse(
            nats,
            user=user,
            password=os.environ.get("FLOW_NATS_PASSWORD", ""),
            creds_file=str(creds) if creds else "",
        )
    except NatsEndpointError as exc:
        raise typer.BadParameter(str(exc), param_hint="--nats") from exc
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_runner(endpoint.user_urls()[0], workers, connect_options=endpoint.connect_options()))
