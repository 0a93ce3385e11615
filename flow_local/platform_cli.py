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

``flow platform keys rotate`` makes a new token signing key in the shared database (the old one keeps
verifying until every token it signed has expired); ``flow platform keys list`` shows the keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from flow_local.backends import BackendURLError
from flow_local.db import DatabaseUnavailable, redacted_url
from flow_local.runtime.nats_endpoint import NatsEndpointError, external_endpoint
from flow_local.sealing import SealingError
from flow_local.settings import Settings

if TYPE_CHECKING:
    from flow_local.signing_keys import DatabaseKeyRing, KeyInfo

platform_app = typer.Typer(help="Run the Manifest Platform as a service.", no_args_is_help=True)
keys_app = typer.Typer(help="The access-token signing keys shared by every replica.", no_args_is_help=True)
platform_app.add_typer(keys_app, name="keys")

DATA_DIR_OPTION = typer.Option(
    None, "--data-dir", help="Local directory for the signing key and runner scratch space."
)
DATABASE_URL_OPTION = typer.Option(
    "", "--database-url", envvar="FLOW_DATABASE_URL", help="sqlite:///... or postgresql://user@host/db."
)
KEY_DIR_OPTION = typer.Option(
    "",
    "--key-dir",
    envvar="FLOW_KEY_DIR",
    help="Directory of the signing and sealing keys shared by replicas.",
)


@platform_app.callback()
def platform() -> None:
    """Run the Manifest Platform as a service."""


@platform_app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 behind a load balancer)."),
    port: int = typer.Option(8080, help="TCP port."),
    data_dir: Path | None = DATA_DIR_OPTION,
    database_url: str = DATABASE_URL_OPTION,
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
    key_dir: str = KEY_DIR_OPTION,
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


@contextmanager
def _key_ring(data_dir: Path | None, database_url: str, key_dir: str) -> Iterator[DatabaseKeyRing]:
    """The token keys of the database the replicas share, opened with their sealing key."""
    from flow_local.backends import open_database
    from flow_local.sealing import Sealer
    from flow_local.signing_keys import DatabaseKeyRing

    settings = Settings.load(data_dir, database_url=database_url, key_dir=key_dir)
    try:
        db = open_database(settings)
    except (DatabaseUnavailable, BackendURLError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        yield DatabaseKeyRing(db, Sealer(settings.sealing_key))
    except SealingError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        db.close()


def _describe(key: KeyInfo) -> str:
    if key.verify_until is None:
        return f"{key.kid}  signing since {key.created_at:%Y-%m-%dT%H:%M:%SZ}"
    return f"{key.kid}  retired, verifies tokens until {key.verify_until:%Y-%m-%dT%H:%M:%SZ}"


@keys_app.command("rotate")
def rotate_keys(
    data_dir: Path | None = DATA_DIR_OPTION,
    database_url: str = DATABASE_URL_OPTION,
    key_dir: str = KEY_DIR_OPTION,
) -> None:
    """Make a new signing key; the old one verifies until every token it signed has expired.

    Every replica sharing the database signs with the new key within a minute and verifies its tokens
    at once. Retired keys whose time is up are deleted.
    """
    with _key_ring(data_dir, database_url, key_dir) as ring:
        kid = ring.rotate()
        keys = ring.describe()
    typer.echo(f"new signing key {kid}")
    for key in keys:
        typer.echo("  " + _describe(key))


@keys_app.command("list")
def list_keys(
    data_dir: Path | None = DATA_DIR_OPTION,
    database_url: str = DATABASE_URL_OPTION,
    key_dir: str = KEY_DIR_OPTION,
) -> None:
    """Show the token keys in the database (ids and dates, never a private key)."""
    with _key_ring(data_dir, database_url, key_dir) as ring:
        keys = ring.describe()
    for key in keys:
        typer.echo(_describe(key))
