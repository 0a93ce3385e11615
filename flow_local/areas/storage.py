"""Object storage per organization: files under ``<data>/objects/<org_id>/``, presigned URLs.

Keys may contain ``/``; empty, ``.`` and ``..`` segments, absolute keys, backslashes and control
characters are rejected with 400. A presigned URL carries ``expires`` and an HMAC ``signature`` of
method, org, key and expiry; it is checked on use.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flow_server_models import PresignedUrl, PresignRequest, StorageObject
from flow_server_routers._support import RawBody
from flow_server_routers.storage import StorageOperations
from starlette.responses import Response

from flow_local.areas.tenants import TenantsBackend
from flow_local.auth import require_org, require_storage_key, storage_listing_prefix
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.errors import ApiError, bad_request, forbidden, not_found
from flow_local.values import iso_from_unix, now_iso

SCHEMA = [
    "CREATE TABLE storage_objects (org_id TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL,"
    " content_type TEXT NOT NULL, etag TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (org_id, key))",
]
MAX_KEY_LENGTH = 1024


def check_key(key: str) -> str:
    """The key when it is safe to use as a relative path; 400 naming `key` otherwise."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise bad_request(f"the key must have 1 to {MAX_KEY_LENGTH} characters", "key")
    if key.startswith("/") or "\\" in key or any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise bad_request("the key must be relative and contain no backslash or control character", "key")
    if any(part in {"", ".", ".."} for part in key.split("/")):
        raise bad_request("the key must not contain empty, '.' or '..' segments", "key")
    return key


class StorageBackend(StorageOperations[Call]):
    """Objects of an organization on disk, with metadata in SQLite."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.db = platform.db
        self.db.migrate("storage", SCHEMA)
        self.root = platform.settings.data_dir / "objects"
        self.root.mkdir(parents=True, exist_ok=True)
        self._key = platform.settings.signing_key

    def _path(self, org_id: str, key: str) -> Path:
        base = (self.root / org_id).resolve()
        path = (base / check_key(key)).resolve()
        if base not in path.parents:
            raise bad_request("the key escapes the organization's storage", "key")
        return path

    def put(self, org_id: str, key: str, data: bytes, content_type: str) -> dict[str, Any]:
        """Store an object atomically (write to a temporary file, fsync, rename, then record it)."""
        path = self._target(org_id, key)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        return self._record(org_id, key, len(data), content_type, etag)

    async def put_stream(
        self, org_id: str, key: str, chunks: AsyncIterator[bytes], content_type: str
    ) -> dict[str, Any]:
        """Store an object from a stream of chunks, never holding it whole in memory (atomic as :meth:`put`)."""
        path = self._target(org_id, key)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        digest, size = hashlib.md5(usedforsecurity=False), 0
        try:
            with os.fdopen(fd, "wb") as handle:
                async for chunk in chunks:
                    handle.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                handle.flush()
                await asyncio.to_thread(os.fsync, handle.fileno())
        except BaseException:
            os.unlink(tmp)
            raise
        os.replace(tmp, path)
        return self._record(org_id, key, size, content_type, digest.hexdigest())

    def _target(self, org_id: str, key: str) -> Path:
        """The file of an object, its folder created (409 when the key clashes with a prefix or an object)."""
        path = self._path(org_id, key)
        if path.is_dir():
            raise ApiError(409, "conflict", f"'{key}' is a prefix of other objects", "key")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise ApiError(409, "conflict", f"a parent of '{key}' is an object", "key") from exc
        return path

    def _record(self, org_id: str, key: str, size: int, content_type: str, etag: str) -> dict[str, Any]:
        record = {
            "key": key,
            "size": size,
            "content_type": content_type or "application/octet-stream",
            "etag": etag,
            "updated_at": now_iso(),
        }
        self.db.execute(
            "INSERT INTO storage_objects (org_id, key, size, content_type, etag, updated_at) VALUES (?,?,?,?,?,?)"
            " ON CONFLICT(org_id, key) DO UPDATE SET size=excluded.size, content_type=excluded.content_type,"
            " etag=excluded.etag, updated_at=excluded.updated_at",
            (org_id, *record.values()),
        )
        return record

    def info(self, org_id: str, key: str) -> dict[str, Any]:
        """An object's metadata (404 when absent)."""
        check_key(key)
        row = self.db.query_one(
            "SELECT key, size, content_type, etag, updated_at FROM storage_objects WHERE org_id=? AND key=?",
            (org_id, key),
        )
        if row is None:
            raise not_found("object", key)
        return dict(row)

    def get(self, org_id: str, key: str) -> tuple[bytes, dict[str, Any]]:
        """An object's bytes and metadata."""
        meta = self.info(org_id, key)
        path = self._path(org_id, key)
        if not path.is_file():
            raise not_found("object", key)
        return path.read_bytes(), meta

    def delete(self, org_id: str, key: str) -> None:
        """Delete an object (404 when absent)."""
        self.info(org_id, key)
        self._path(org_id, key).unlink(missing_ok=True)
        self.db.execute("DELETE FROM storage_objects WHERE org_id=? AND key=?", (org_id, key))

    def list_objects(self, org_id: str, prefix: str) -> list[dict[str, Any]]:
        """Objects whose key starts with ``prefix``."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.db.query(
            "SELECT key, size, content_type, etag, updated_at FROM storage_objects WHERE org_id=? AND key LIKE ? ESCAPE '\\'"
            " ORDER BY key",
            (org_id, escaped + "%"),
        )
        return [dict(r) for r in rows]

    def _signature(self, method: str, org_id: str, key: str, expires: int) -> str:
        message = f"{method}\n{org_id}\n{key}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def presign(self, org_id: str, key: str, method: str, ttl_seconds: int) -> dict[str, Any]:
        """A URL allowing ``method`` on ``key`` until ``now + ttl_seconds``."""
        check_key(key)
        expires = int(time.time()) + ttl_seconds
        signature = self._signature(method, org_id, key, expires)
        url = (
            f"{self.platform.url}/api/v1/orgs/{org_id}/storage/objects/{quote(key, safe='/')}"
            f"?expires={expires}&signature={signature}"
        )
        return {"url": url, "method": method, "expires_at": iso_from_unix(expires)}

    def check_presigned(
        self, method: str, org_id: str, key: str, expires: int | None, signature: str
    ) -> None:
        """403 unless the signature matches and has not expired."""
        if expires is None:
            raise forbidden("a presigned URL needs both 'expires' and 'signature'")
        expected = self._signature(method, org_id, key, expires)
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise forbidden("the presigned URL's signature does not match")
        if expires < time.time():
            raise forbidden("the presigned URL has expired")

    def _authorize(
        self, call: Call, org_id: str, key: str, method: str, expires: int | None, signature: str | None
    ) -> None:
        """A presigned signature when given, otherwise the bearer token's organization."""
        if signature is not None:
            self.check_presigned(method, org_id, key, expires, signature)
            self.platform.backend(TenantsBackend).get_org(org_id)
            return
        require_org(call.principal, org_id)
        require_storage_key(call.principal, key)
        self.platform.backend(TenantsBackend).get_org(org_id)

    async def list_storage_objects(self, call: Call, *, org_id: str, prefix: str) -> list[StorageObject]:
        """Objects whose key starts with ``prefix`` (narrowed to a workspace-bound token's scope)."""
        prefix = storage_listing_prefix(call.principal, prefix)
        return [StorageObject.model_validate(o) for o in self.list_objects(org_id, prefix)]

    async def download_storage_object(
        self, call: Call, *, org_id: str, key: str, expires: int | None, signature: str | None
    ) -> Response:
        """An object's bytes with its content type (bearer token or presigned GET)."""
        self._authorize(call, org_id, key, "GET", expires, signature)
        data, meta = self.get(org_id, key)
        return Response(content=data, media_type=meta["content_type"], headers={"ETag": f'"{meta["etag"]}"'})

    async def upload_storage_object(
        self,
        call: Call,
        *,
        org_id: str,
        key: str,
        expires: int | None,
        signature: str | None,
        body: RawBody,
    ) -> StorageObject:
        """Store the raw body as it streams in (bearer token or presigned PUT).

        The body limit (413 past the object size limit) is enforced while it arrives, by
        :class:`flow_local.middleware.BodyLimitMiddleware`.
        """
        self._authorize(call, org_id, key, "PUT", expires, signature)
        content_type = body.content_type or "application/octet-stream"
        return StorageObject.model_validate(await self.put_stream(org_id, key, body.stream(), content_type))

    async def delete_storage_object(
        self, call: Call, *, org_id: str, key: str, expires: int | None, signature: str | None
    ) -> None:
        """Delete an object (bearer token only: a presigned URL never deletes)."""
        require_storage_key(call.principal, key)
        self.delete(org_id, key)

    async def presign_storage_object(self, call: Call, *, org_id: str, body: PresignRequest) -> PresignedUrl:
        """A URL allowing one method on one key until it expires."""
        require_storage_key(call.principal, body.key)
        return PresignedUrl.model_validate(self.presign(org_id, body.key, body.method, body.ttl_seconds))
