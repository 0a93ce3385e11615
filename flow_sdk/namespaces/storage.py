"""``flow.storage``: platform object storage and pre-signed URLs."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from os import PathLike
from typing import Literal

from flow_sdk._errors import FlowSDKError
from flow_sdk._files import Progress, UploadSource, byte_chunks, receive_to, send_body, source_length
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.client.storage import (
    build_delete_storage_object_request,
    build_download_storage_object_request,
    build_list_storage_objects_request,
    build_presign_storage_object_request,
    build_upload_storage_object_request,
)
from flow_sdk._generated.types import PresignRequest, StorageObject
from flow_sdk._pages import MAX_PAGE_SIZE
from flow_sdk.namespaces._base import Namespace

__all__ = ["StorageNamespace", "check_key"]


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid relative object key.

    Raises:
        FlowSDKError: The key is empty, absolute, or has a ``..`` segment.
    """
    if not key or key.startswith("/") or ".." in key.split("/"):
        raise FlowSDKError(f"invalid storage key {key!r}: use a relative key without '..' segments")
    return key


class StorageNamespace(Namespace):
    """Upload, download, list and pre-sign objects (org-scoped)."""

    async def upload(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> StorageObject:
        """Upload ``data`` under ``key`` (``PUT /api/v1/orgs/{org_id}/storage/objects/{key}``)."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise FlowSDKError(f"data must be bytes, got {type(data).__name__}")
        request = build_upload_storage_object_request(
            self._flow._org(), check_key(key), content=bytes(data), content_type=content_type
        )
        return await self._send(request)

    async def upload_file(
        self,
        key: str,
        source: UploadSource,
        *,
        content_type: str = "application/octet-stream",
        progress: Progress | None = None,
    ) -> StorageObject:
        """Upload from a path, a binary file object or an (async) iterator of bytes, streamed.

        The body is sent piece by piece, so memory use does not grow with the object's size.

        Args:
            key: The object key.
            source: A path, a binary file object (read from its position), or an iterator or async
                iterator of byte pieces.
            content_type: The object's content type.
            progress: Called with the number of bytes sent so far, after each piece.

        Example::

            await flow.storage.upload_file("backups/db.sqlite", "/var/backups/db.sqlite")
        """
        request = build_upload_storage_object_request(
            self._flow._org(), check_key(key), content=b"", content_type=content_type
        )
        body = byte_chunks(source, progress)
        return await send_body(self._flow._http(), request, body, source_length(source))

    async def download_to(
        self, key: str, path: str | PathLike[str], *, progress: Progress | None = None
    ) -> int:
        """Download an object into the file ``path``, streamed to disk; return its size in bytes.

        The file appears at ``path`` only once complete; on failure ``path`` is left as it was.
        """
        request = build_download_storage_object_request(self._flow._org(), check_key(key))
        return await receive_to(self._flow._http(), request, path, progress)

    async def download(self, key: str) -> bytes:
        """Download an object's bytes (``GET /api/v1/orgs/{org_id}/storage/objects/{key}``)."""
        return await self._send(build_download_storage_object_request(self._flow._org(), check_key(key)))

    async def delete(self, key: str) -> None:
        """Delete an object (``DELETE /api/v1/orgs/{org_id}/storage/objects/{key}``)."""
        await self._send(build_delete_storage_object_request(self._flow._org(), check_key(key)))

    async def list(self, prefix: str = "") -> list[StorageObject]:
        """List every object whose key starts with ``prefix`` (``GET /api/v1/orgs/{org_id}/storage/objects``).

        The platform answers a page at a time; this reads them all. :meth:`iter` reads them as needed.
        """
        return [item async for item in self.iter(prefix, page_size=MAX_PAGE_SIZE)]

    def iter(self, prefix: str = "", *, page_size: int = 100) -> AsyncIterator[StorageObject]:
        """Every object whose key starts with ``prefix``, in key order, fetched a page at a time.

        Example::

            async for item in flow.storage.iter("reports/"):
                print(item["key"], item["size"])
        """
        org_id = self._flow._org()

        def page(cursor: str | None) -> ApiRequest[builtins.list[StorageObject]]:
            return build_list_storage_objects_request(org_id, prefix=prefix, limit=page_size, cursor=cursor)

        return self._pages(page)

    async def _presign(self, key: str, method: Literal["GET", "PUT"], ttl_seconds: int) -> str:
        if ttl_seconds < 1:
            raise FlowSDKError(f"ttl_seconds must be >= 1, got {ttl_seconds}")
        body: PresignRequest = {"key": check_key(key), "method": method, "ttl_seconds": ttl_seconds}
        presigned = await self._send(build_presign_storage_object_request(self._flow._org(), body=body))
        return presigned["url"]

    async def presign_put(self, key: str, ttl_seconds: int = 3600) -> str:
        """Return a pre-signed upload URL (``POST /api/v1/orgs/{org_id}/storage/presign``)."""
        return await self._presign(key, "PUT", ttl_seconds)

    async def presign_get(self, key: str, ttl_seconds: int = 3600) -> str:
        """Return a pre-signed download URL (``POST /api/v1/orgs/{org_id}/storage/presign``)."""
        return await self._presign(key, "GET", ttl_seconds)
