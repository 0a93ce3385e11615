"""Where storage objects' bytes live: files in the data dir (default) or an S3-compatible bucket.

The storage area keeps its catalogue (key, size, content type, ETag) in the database and hands the
bytes to an :class:`ObjectStore`, named ``{org_id}/{key}``. Two stores implement it:

- :class:`FileObjectStore`: one file per object under a root directory, written atomically;
- :class:`S3ObjectStore`: a bucket (and optional key prefix) of any S3-compatible service, through
  ``obstore``: large objects go up as multipart uploads, and presigned URLs are the service's own
  (SigV4), so clients read and write the bucket directly. Because a presigned PUT bypasses the
  platform, such a store reports ``external_writes`` and the catalogue asks it about keys it lacks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, urlsplit

from flow_local.errors import ApiError, bad_request

NO_SUCH_BUCKET = "NoSuchBucket"
"""The S3 error code of a bucket that does not exist yet (listed as empty)."""
MULTIPART_THRESHOLD = 16 * 1024 * 1024
"""Objects larger than this go up to S3 as multipart uploads."""
MULTIPART_CHUNK = 8 * 1024 * 1024
"""The size of each part of a multipart upload (S3 requires at least 5 MiB but for the last one)."""
S3_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
_PRESIGNABLE: dict[str, Literal["GET", "PUT"]] = {"GET": "GET", "PUT": "PUT"}
READ_CHUNK = 1024 * 1024
"""The size of the pieces an object is read back in."""


class ObjectMissing(LookupError):
    """The store holds no object of that name."""


@dataclass
class StoredObject:
    """What a store knows of one object."""

    name: str
    size: int
    etag: str
    updated_at: datetime
    content_type: str | None = None


class ObjectStore(Protocol):
    """Bytes of objects by name (``{org_id}/{key}``)."""

    external_writes: bool
    """Whether objects may appear without the platform writing them (a presigned PUT to the store)."""

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Store an object, replacing any previous one, all or nothing."""

    def put_file(self, name: str, path: Path, content_type: str) -> None:
        """Store the file at ``path`` as an object, all or nothing; ``path`` is gone afterwards."""

    def get(self, name: str) -> bytes:
        """An object's bytes (:class:`ObjectMissing` when absent)."""
        ...

    def stream(self, name: str) -> Iterator[bytes]:
        """An object's bytes in pieces (:class:`ObjectMissing` when absent, raised before the first)."""
        ...

    def head(self, name: str) -> StoredObject:
        """An object's size, ETag, time and content type (:class:`ObjectMissing` when absent)."""
        ...

    def list(self, prefix: str, after: str | None = None, limit: int | None = None) -> list[StoredObject]:
        """Objects whose name starts with ``prefix``, in name order: the first ``limit`` after ``after``."""
        ...

    def delete(self, name: str) -> None:
        """Delete an object (no error when absent)."""

    def presign(self, method: str, name: str, ttl_seconds: int) -> str | None:
        """The store's own presigned URL for ``method`` (GET or PUT) on ``name``, or None when it has none."""
        ...


class FileObjectStore:
    """One file per object under ``root`` (the embedded default)."""

    external_writes = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        base = self.root.resolve()
        path = (base / name).resolve()
        if base not in path.parents:
            raise bad_request("the key escapes the organization's storage", "key")
        return path

    def _target(self, name: str) -> Path:
        """The object's path, its directory made (409 when a path clashes)."""
        key = name.partition("/")[2]
        path = self._path(name)
        if path.is_dir():
            raise ApiError(409, "conflict", f"'{key}' is a prefix of other objects", "key")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise ApiError(409, "conflict", f"a parent of '{key}' is an object", "key") from exc
        return path

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Write to a temporary file, fsync, then rename over the object (409 when a path clashes)."""
        path = self._target(name)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def put_file(self, name: str, path: Path, content_type: str) -> None:
        """Move the file beside the object, fsync it, then rename it over the object."""
        target = self._target(name)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        os.close(fd)
        try:
            shutil.move(path, tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> bytes:
        """The file's bytes."""
        path = self._path(name)
        if not path.is_file():
            raise ObjectMissing(name)
        return path.read_bytes()

    def stream(self, name: str) -> Iterator[bytes]:
        """The file's bytes in pieces of :data:`READ_CHUNK`."""
        path = self._path(name)
        try:
            handle = path.open("rb")
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise ObjectMissing(name) from exc
        return _pieces(handle)

    def head(self, name: str) -> StoredObject:
        """The file's size and time (the catalogue holds the rest)."""
        path = self._path(name)
        if not path.is_file():
            raise ObjectMissing(name)
        stat = path.stat()
        return StoredObject(name, stat.st_size, "", datetime.fromtimestamp(stat.st_mtime, UTC))

    def list(self, prefix: str, after: str | None = None, limit: int | None = None) -> list[StoredObject]:
        """Files whose name starts with ``prefix`` (the catalogue lists; this serves checks and tests)."""
        found = []
        for path in sorted(self.root.rglob("*")):
            name = path.relative_to(self.root).as_posix()
            if path.is_file() and name.startswith(prefix) and not path.name.startswith(".upload-"):
                found.append(self.head(name))
        found.sort(key=lambda item: item.name)
        return [item for item in found if after is None or item.name > after][:limit]

    def delete(self, name: str) -> None:
        """Remove the file."""
        self._path(name).unlink(missing_ok=True)

    def presign(self, method: str, name: str, ttl_seconds: int) -> str | None:
        """None: files have no URLs of their own (the platform signs its own)."""
        return None


class S3ObjectStore:
    """A bucket of an S3-compatible service, through ``obstore``.

    Args:
        url: ``s3://bucket[/prefix][?endpoint=http://host:port&region=us-east-1]``; credentials come from
            ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (or the environment's usual AWS sources), never
            from the URL.
    """

    external_writes = True

    def __init__(self, url: str) -> None:
        from obstore.store import S3Store

        parts = urlsplit(url)
        if not parts.netloc:
            raise ValueError(f"{url!r} names no bucket: use s3://bucket[/prefix]?endpoint=...")
        if parts.username or parts.password:
            raise ValueError(
                "put S3 credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the URL"
            )
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        options: dict[str, Any] = {}
        endpoint = query.get("endpoint")
        if endpoint:
            options["endpoint"] = endpoint
        credentials = {name: os.environ[name] for name in S3_CREDENTIAL_VARIABLES if os.environ.get(name)}
        self._store = S3Store(
            self.bucket,
            prefix=self.prefix or None,
            region=query.get("region", "us-east-1"),
            access_key_id=credentials.get("AWS_ACCESS_KEY_ID"),
            secret_access_key=credentials.get("AWS_SECRET_ACCESS_KEY"),
            virtual_hosted_style_request=query.get("virtual_hosted", "false") == "true",
            client_options={"allow_http": bool(endpoint and endpoint.startswith("http://"))},
            **options,
        )

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """One PUT, or a multipart upload past :data:`MULTIPART_THRESHOLD` (completed, or aborted)."""
        import obstore

        with _s3_errors(name):
            obstore.put(
                self._store,
                name,
                data,
                attributes={"Content-Type": content_type},
                use_multipart=len(data) > MULTIPART_THRESHOLD,
                chunk_size=MULTIPART_CHUNK,
                max_concurrency=4,
            )

    def put_file(self, name: str, path: Path, content_type: str) -> None:
        """Upload the file (multipart past :data:`MULTIPART_THRESHOLD`), then remove it."""
        import obstore

        try:
            with _s3_errors(name):
                obstore.put(
                    self._store,
                    name,
                    path,
                    attributes={"Content-Type": content_type},
                    use_multipart=path.stat().st_size > MULTIPART_THRESHOLD,
                    chunk_size=MULTIPART_CHUNK,
                    max_concurrency=4,
                )
        finally:
            path.unlink(missing_ok=True)

    def stream(self, name: str) -> Iterator[bytes]:
        """The object's bytes in the pieces the service sends."""
        import obstore

        with _s3_errors(name):
            result = obstore.get(self._store, name)
        return _s3_pieces(name, result)

    def get(self, name: str) -> bytes:
        """The object's bytes."""
        import obstore

        with _s3_errors(name):
            return bytes(obstore.get(self._store, name).bytes())

    def head(self, name: str) -> StoredObject:
        """The object's metadata and content type (a HEAD request)."""
        import obstore

        with _s3_errors(name):
            result = obstore.get(self._store, name, options={"head": True})
        content_type = result.attributes.get("Content-Type")
        return _stored(result.meta, str(content_type) if content_type else None)

    def list(self, prefix: str, after: str | None = None, limit: int | None = None) -> list[StoredObject]:
        """Objects whose name starts with ``prefix`` (S3 lists by key prefix, in key order).

        With ``after`` the listing starts after that name (S3's ``StartAfter``); it stops reading
        once ``limit`` objects are found.
        """
        import obstore
        from obstore.exceptions import GenericError

        directory, _, _ = prefix.rpartition("/")
        found: list[StoredObject] = []
        try:
            with _s3_errors(prefix):
                for batch in obstore.list(self._store, prefix=directory or None, offset=after):
                    found += [_stored(meta, None) for meta in batch if meta["path"].startswith(prefix)]
                    if limit is not None and len(found) >= limit:
                        break
        except ApiError as exc:
            if isinstance(exc.__cause__, GenericError) and NO_SUCH_BUCKET in str(exc.__cause__):
                return []
            raise
        return sorted(found, key=lambda item: item.name)[:limit]

    def delete(self, name: str) -> None:
        """Delete the object."""
        import obstore

        with _s3_errors(name):
            obstore.delete(self._store, name)

    def presign(self, method: str, name: str, ttl_seconds: int) -> str | None:
        """A SigV4 presigned URL of the S3 service itself."""
        import obstore

        if method not in _PRESIGNABLE:
            raise ValueError(f"presigned URLs are for GET or PUT, not {method!r}")
        return obstore.sign(self._store, _PRESIGNABLE[method], name, timedelta(seconds=ttl_seconds))


def _pieces(handle: Any) -> Iterator[bytes]:
    """Read an open file in pieces, closing it at the end."""
    with handle:
        while piece := handle.read(READ_CHUNK):
            yield piece


def _s3_pieces(name: str, result: Any) -> Iterator[bytes]:
    """The pieces of an S3 answer, its failures mapped as :func:`_s3_errors` does."""
    with _s3_errors(name):
        for piece in result.stream(min_chunk_size=READ_CHUNK):
            yield bytes(piece)


@contextmanager
def _s3_errors(name: str) -> Iterator[None]:
    """S3 failures as the storage area knows them: a missing object, or a 500 that names the cause."""
    from obstore.exceptions import BaseError, NotFoundError

    try:
        yield
    except (NotFoundError, FileNotFoundError) as exc:
        raise ObjectMissing(name) from exc
    except BaseError as exc:
        reason = " ".join(str(exc).split())[:300]
        raise ApiError(500, "object_store_error", f"the object store failed on {name!r}: {reason}") from exc


def _stored(meta: Any, content_type: str | None) -> StoredObject:
    return StoredObject(
        name=str(meta["path"]),
        size=int(meta["size"]),
        etag=str(meta.get("e_tag") or "").strip('"'),
        updated_at=meta["last_modified"],
        content_type=content_type,
    )
