"""Object storage per organization: bytes in the object store as ``<org_id>/<key>``, presigned URLs.

Keys may contain ``/``; empty, ``.`` and ``..`` segments, absolute keys, backslashes and control
characters are rejected with 400. With files (the default) a presigned URL is the platform's: it carries
``expires`` and an HMAC ``signature`` of method, org, key and expiry, checked on use. With an S3 store it
is the store's own SigV4 URL, and objects uploaded through it are catalogued when first seen.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

from flow_local._generated.models import PresignedUrl, PresignRequest, StorageObject
from flow_local._generated.routers._support import NEXT_CURSOR_HEADER, RawBody
from flow_local._generated.routers.storage import DOWNLOAD_STORAGE_OBJECT_PATH, StorageOperations
from flow_local.areas.tenants import TenantsBackend
from flow_local.auth import require_org, require_storage_key, storage_listing_prefix
from flow_local.backends import open_object_store
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.errors import ApiError, bad_request, forbidden, not_found
from flow_local.objectstore import ObjectMissing, StoredObject
from flow_local.paging import Keyset, select_page
from flow_local.values import iso_from_unix, now_iso

SCHEMA = [
    "CREATE TABLE storage_objects (org_id TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL,"
    " content_type TEXT NOT NULL, etag TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (org_id, key))",
]
MAX_KEY_LENGTH = 1024
STORAGE_ORDER = Keyset("storage_objects", ("key",))
"""Key order, as S3 lists."""
_OBJECT_COLUMNS = "key, size, content_type, etag, updated_at"
STAGE_CHUNK = 1024 * 1024
"""An upload is written to its staging file in pieces of about this size."""


def check_key(key: str) -> str:
    """The key when it is safe to use as a relative path; 400 naming `key` otherwise."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise bad_request(f"the key must have 1 to {MAX_KEY_LENGTH} characters", "key")
    if key.startswith("/") or "\\" in key or any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise bad_request("the key must be relative and contain no backslash or control character", "key")
    if any(part in {"", ".", ".."} for part in key.split("/")):
        raise bad_request("the key must not contain empty, '.' or '..' segments", "key")
    return key


def _record_of(key: str, stored: StoredObject) -> dict[str, Any]:
    """The catalogue entry of an object the store holds but the platform did not write."""
    return {
        "key": key,
        "size": stored.size,
        "content_type": stored.content_type or "application/octet-stream",
        "etag": stored.etag,
        "updated_at": stored.updated_at.isoformat(timespec="microseconds"),
    }


class StorageBackend(StorageOperations[Call]):
    """Objects of an organization in the object store, catalogued in the database."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.db = platform.db
        self.db.migrate("storage", SCHEMA)
        self.objects = open_object_store(platform.settings)
        self._key = platform.settings.signing_key

    @staticmethod
    def _name(org_id: str, key: str) -> str:
        return f"{org_id}/{check_key(key)}"

    def put(self, org_id: str, key: str, data: bytes, content_type: str) -> dict[str, Any]:
        """Store an object (all of it or nothing, in the object store), then record it."""
        self.objects.put(self._name(org_id, key), data, content_type or "application/octet-stream")
        record = {
            "key": key,
            "size": len(data),
            "content_type": content_type or "application/octet-stream",
            "etag": hashlib.md5(data, usedforsecurity=False).hexdigest(),
            "updated_at": now_iso(),
        }
        self._record(org_id, record)
        return record

    async def put_streamed(self, org_id: str, body: RawBody, key: str, limit: int) -> dict[str, Any]:
        """Store a body as it arrives, through a staging file (413 past ``limit``), then record it."""
        name = self._name(org_id, key)
        content_type = body.content_type or "application/octet-stream"
        staged, size, etag = await self._stage(body, limit)
        try:
            await asyncio.to_thread(self.objects.put_file, name, staged, content_type)
        finally:
            staged.unlink(missing_ok=True)
        record = {
            "key": key,
            "size": size,
            "content_type": content_type,
            "etag": etag,
            "updated_at": now_iso(),
        }
        self._record(org_id, record)
        return record

    async def _stage(self, body: RawBody, limit: int) -> tuple[Path, int, str]:
        """Write the body to a staging file in pieces; its path, size and MD5 (413 past ``limit``)."""
        staging = self.platform.settings.data_dir / "uploads"
        staging.mkdir(exist_ok=True)
        fd, name = tempfile.mkstemp(dir=staging, prefix=".upload-")
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        pending = bytearray()
        try:
            with os.fdopen(fd, "wb") as handle:
                async for piece in body.stream():
                    size += len(piece)
                    if size > limit:
                        raise ApiError(413, "too_large", f"objects are limited to {limit} bytes")
                    digest.update(piece)
                    pending += piece
                    if len(pending) >= STAGE_CHUNK:
                        await asyncio.to_thread(handle.write, bytes(pending))
                        pending.clear()
                handle.write(pending)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name), size, digest.hexdigest()

    def _record(self, org_id: str, record: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO storage_objects (org_id, key, size, content_type, etag, updated_at) VALUES (?,?,?,?,?,?)"
            " ON CONFLICT(org_id, key) DO UPDATE SET size=excluded.size, content_type=excluded.content_type,"
            " etag=excluded.etag, updated_at=excluded.updated_at",
            (org_id, *record.values()),
        )

    def _discover(self, org_id: str, key: str) -> dict[str, Any] | None:
        """Catalogue an object written straight to the store (a presigned PUT to S3), if it is there."""
        if not self.objects.external_writes:
            return None
        try:
            found = self.objects.head(self._name(org_id, key))
        except ObjectMissing:
            return None
        record = _record_of(key, found)
        self._record(org_id, record)
        return record

    def info(self, org_id: str, key: str) -> dict[str, Any]:
        """An object's metadata (404 when absent)."""
        check_key(key)
        row = self.db.query_one(
            "SELECT key, size, content_type, etag, updated_at FROM storage_objects WHERE org_id=? AND key=?",
            (org_id, key),
        )
        if row is not None:
            return dict(row)
        found = self._discover(org_id, key)
        if found is None:
            raise not_found("object", key)
        return found

    def get(self, org_id: str, key: str) -> tuple[bytes, dict[str, Any]]:
        """An object's bytes and metadata."""
        meta = self.info(org_id, key)
        try:
            return self.objects.get(self._name(org_id, key)), meta
        except ObjectMissing as exc:
            raise not_found("object", key) from exc

    def delete(self, org_id: str, key: str) -> None:
        """Delete an object (404 when absent)."""
        self.info(org_id, key)
        self.objects.delete(self._name(org_id, key))
        self.db.execute("DELETE FROM storage_objects WHERE org_id=? AND key=?", (org_id, key))

    def list_objects(
        self, org_id: str, prefix: str, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the objects whose key starts with ``prefix``, in key order, and the next cursor."""
        if self.objects.external_writes:
            return self._store_page(org_id, prefix, limit, cursor)
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        page = select_page(
            self.db,
            STORAGE_ORDER,
            f"SELECT {_OBJECT_COLUMNS} FROM storage_objects WHERE org_id=? AND key LIKE ? ESCAPE '\\'",
            (org_id, escaped + "%"),
            limit=limit,
            cursor=cursor,
        )
        return [dict(r) for r in page.rows], page.next_cursor

    def _store_page(
        self, org_id: str, prefix: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the store's own listing: catalogued entries as recorded, the others catalogued now."""
        after = None if cursor is None else f"{org_id}/{STORAGE_ORDER.position(cursor)[0]}"
        stored = self.objects.list(f"{org_id}/{prefix}", after=after, limit=limit + 1)
        keys = [item.name.partition("/")[2] for item in stored[:limit]]
        marks = ", ".join("?" for _ in keys) or "NULL"
        rows = self.db.query(
            f"SELECT {_OBJECT_COLUMNS} FROM storage_objects WHERE org_id=? AND key IN ({marks})",
            (org_id, *keys),
        )
        known = {row["key"]: dict(row) for row in rows}
        entries = [self._entry(org_id, item, known) for item in stored[:limit]]
        next_cursor = STORAGE_ORDER.cursor_of(entries[-1]) if len(stored) > limit else None
        return entries, next_cursor

    def _entry(self, org_id: str, stored: StoredObject, known: dict[str, dict[str, Any]]) -> dict[str, Any]:
        key = stored.name.partition("/")[2]
        return known.get(key) or self._discover(org_id, key) or _record_of(key, stored)

    def _signature(self, method: str, org_id: str, key: str, expires: int) -> str:
        message = f"{method}\n{org_id}\n{key}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def presign(self, org_id: str, key: str, method: str, ttl_seconds: int) -> dict[str, Any]:
        """A URL allowing ``method`` on ``key`` until ``now + ttl_seconds``."""
        expires = int(time.time()) + ttl_seconds
        own = self.objects.presign(method, self._name(org_id, key), ttl_seconds)
        if own is not None:
            return {"url": own, "method": method, "expires_at": iso_from_unix(expires)}
        signature = self._signature(method, org_id, key, expires)
        path = DOWNLOAD_STORAGE_OBJECT_PATH.format(org_id=org_id, key=quote(key, safe="/"))
        url = f"{self.platform.url}{path}?expires={expires}&signature={signature}"
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

    async def list_storage_objects(
        self, call: Call, *, org_id: str, prefix: str, limit: int, cursor: str | None
    ) -> list[StorageObject]:
        """Objects whose key starts with ``prefix`` (narrowed to a workspace-bound token's scope), a page at a time."""
        prefix = storage_listing_prefix(call.principal, prefix)
        objects, next_cursor = self.list_objects(org_id, prefix, limit, cursor)
        if next_cursor is not None:
            call.answer_headers[NEXT_CURSOR_HEADER] = next_cursor
        return [StorageObject.model_validate(o) for o in objects]

    async def download_storage_object(
        self, call: Call, *, org_id: str, key: str, expires: int | None, signature: str | None
    ) -> Response:
        """An object's bytes with its content type (bearer token or presigned GET)."""
        self._authorize(call, org_id, key, "GET", expires, signature)
        meta = self.info(org_id, key)
        try:
            pieces = self.objects.stream(self._name(org_id, key))
        except ObjectMissing as exc:
            raise not_found("object", key) from exc
        headers = {"ETag": f'"{meta["etag"]}"', "Content-Length": str(meta["size"])}
        return StreamingResponse(pieces, media_type=meta["content_type"], headers=headers)

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
        """Store the raw body (bearer token or presigned PUT); 413 past the object size limit."""
        self._authorize(call, org_id, key, "PUT", expires, signature)
        limit = self.platform.settings.max_object_bytes
        declared = body.declared_length
        if declared is not None and declared > limit:
            raise ApiError(413, "too_large", f"objects are limited to {limit} bytes")
        return StorageObject.model_validate(await self.put_streamed(org_id, body, key, limit))

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
