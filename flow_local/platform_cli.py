"""``flow platform serve``: the production entry point, with the engines chosen by URL.

Unlike ``flow local serve`` it prints no dev credentials, listens where it is told (behind a load balancer,
``--host 0.0.0.0``), and takes its database and object store from ``--database-url``/``--object-store`` or
``FLOW_DATABASE_URL``/``FLOW_OBJECT_STORE_URL`` (S3 credentials from ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``, never from the command line), and its NATS from ``--nats`` (its own nats-server,
or an external cluster with a user and ``FLOW_NATS_PASSWORD`` or a credentials file, and in operator mode
an account signing key for the executions' own credentials). With an external
cluster the replica runs no runner of its own: runners join the cluster with ``flow runner``. Any number of
replicas may share one database, object store and NATS cluster; they share their signing and sealing keys
through ``--key-dir`` (a mounted secret).
"""

from __future__ import annotations

from pathlib import Path

import typer

from flow_local.backends import BackendURLError
from flow_local.db import DatabaseUnavailable, redacted_url
from flow_local.runtime.nats_endpoint import NatsEndpointError, external_endpoint
from flow_local.settings import Settings

platform_app = typer.Typer(help="Run the Manifest Platform as a service.", no_args_is_help=True)


@platform_app.callback()
def platform() -> None:
    """Run the Manifest Platform as a service."""


@platform_app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 behind a load balancer)."),
    port: int = typer.Option(8080, help="TCP port."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Local directory for the signing key and runner scratch space."
    ),
    database_url: str = typer.Option(
        "", "--database-url", envvar="FLOW_DATABASE_URL", help="sqlite:///... or postgresql://user@host/db."
    ),
    object_store: str = typer.Option(
        "", "--object-store", envvar="FLOW_OBJECT_STORE_URL", help="file:///... or s3://bucket?endpoint=..."
    ),
    public_url: str = typer.Option("", "--public-url", help="The URL clients reach (the load balancer's)."),
    nats: str = typer.Option(
        "embedded",
        "--nats",
        envvar="FLOW_NATS_URL",
        help="embedded (its own nats-server) or a cluster's URLs: nats://a:4222,nats://b:4222,nats://c:4222.",
    ),
    nats_user: str = typer.Option(
        "", "--nats-user", envvar="FLOW_NATS_USER", help="NATS user (its password from FLOW_NATS_PASSWORD)."
    ),
    nats_creds: str = typer.Option(
        "", "--nats-creds", envvar="FLOW_NATS_CREDS", help="NATS credentials file (.creds) instead of a user."
    ),
    nats_signing_key: str = typer.Option(
        "",
        "--nats-signing-key",
        envvar="FLOW_NATS_SIGNING_KEY",
        help="File of a signing key of the --nats-creds account: every execution gets NATS rights of its own.",
    ),
    key_dir: str = typer.Option(
        "",
        "--key-dir",
        envvar="FLOW_KEY_DIR",
        help="Directory of the signing and sealing keys shared by replicas.",
    ),
    log_level: str = typer.Option("info", help="uvicorn's log level."),
) -> None:
    """Start one API replica in the foreground."""
    import uvicorn

    from flow_local.app import create_app

    settings = Settings.load(
        data_dir,
        host=host,
        port=port,
        database_url=database_url,
        object_store_url=object_store,
        public_url=public_url,
        nats_url=nats,
        nats_user=nats_user,
        nats_creds=nats_creds,
        nats_signing_key=nats_signing_key,
        key_dir=key_dir,
    )
    try:
        endpoint = external_endpoint(settings)
        app = create_app(settings)
    except (DatabaseUnavailable, BackendURLError, NatsEndpointError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"Manifest Platform on {settings.url}\n"
        f"  database      {redacted_url(settings.database_url) or 'sqlite (data dir)'}\n"
        f"  object store  {settings.object_store_url or 'files (data dir)'}\n"
        f"  nats          {endpoint.public_url if endpoint else 'embedded nats-server'}"
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level)
