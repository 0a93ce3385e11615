"""The platform's database and object store, chosen by URL.

``sqlite:///path`` (or no URL: ``platform.db`` in the data dir) and ``file:///path`` (or no URL:
``objects/`` in the data dir) are the embedded defaults; ``postgresql://...`` and ``s3://bucket...``
select the cluster profile's engines, whose drivers come with the ``cluster`` extra.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from flow_local.db import Database, SqliteDatabase
from flow_local.objectstore import FileObjectStore, ObjectStore
from flow_local.settings import Settings

POSTGRES_SCHEMES = ("postgresql", "postgres")


class BackendURLError(ValueError):
    """A database or object-store URL names a scheme the platform does not know."""


def sqlite_path(url: str, data_dir: Path) -> Path:
    """The SQLite file of a ``sqlite:///path`` URL (relative paths are under the data dir)."""
    path = Path(unquote(urlsplit(url).path))
    if not str(path) or str(path) == "/":
        raise BackendURLError(
            f"{url!r} names no file: use sqlite:////absolute/path.db or sqlite:///relative.db"
        )
    return path if url.startswith("sqlite:////") else data_dir / str(path).lstrip("/")


def open_database(settings: Settings) -> Database:
    """The database ``settings.database_url`` names (SQLite in the data dir when it is empty).

    Raises:
        BackendURLError: The URL's scheme is neither ``sqlite`` nor ``postgresql``.
    """
    url = settings.database_url
    if not url:
        return SqliteDatabase(settings.db_path)
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return SqliteDatabase(sqlite_path(url, settings.data_dir))
    if scheme in POSTGRES_SCHEMES:
        from flow_local.postgres import PostgresDatabase

        return PostgresDatabase(url)
    raise BackendURLError(
        f"database URL scheme {scheme!r} is not supported: use sqlite:///... or postgresql://..."
    )


def open_object_store(settings: Settings) -> ObjectStore:
    """The object store ``settings.object_store_url`` names (``objects/`` in the data dir when empty).

    Raises:
        BackendURLError: The URL's scheme is neither ``file`` nor ``s3``.
    """
    url = settings.object_store_url
    if not url:
        return FileObjectStore(settings.data_dir / "objects")
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileObjectStore(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        from flow_local.objectstore import S3ObjectStore

        return S3ObjectStore(url)
    raise BackendURLError(
        f"object store URL scheme {parts.scheme!r} is not supported: use file:///... or s3://..."
    )
