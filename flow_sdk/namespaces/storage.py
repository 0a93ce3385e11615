"""``flow.storage``: platform object storage and pre-signed URLs."""

from __future__ import annotations

from typing import Literal

from flow_platform_client.storage import (
    build_delete_storage_object_request,
    build_download_storage_object_request,
    build_list_storage_objects_request,
    build_presign_storage_object_request,
    build_upload_storage_object_request,
)
from flow_types import PresignRequest, StorageObject

from flow_sdk._errors import FlowSDKError
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

    async def download(self, key: str) -> bytes:
        """Download an object's bytes (``GET /api/v1/orgs/{org_id}/storage/objects/{key}``)."""
        return await self._send(build_download_storage_object_request(self._flow._org(), check_key(key)))

    async def delete(self, key: str) -> None:
        """Delete an object (``DELETE /api/v1/orgs/{org_id}/storage/objects/{key}``)."""
        await self._send(build_delete_storage_object_request(self._flow._org(), check_key(key)))

    async def list(self, prefix: str = "") -> list[StorageObject]:
        """List objects whose key starts with ``prefix`` (``GET /api/v1/orgs/{org_id}/storage/objects``)."""
        return await self._send(build_list_storage_objects_request(self._flow._org(), prefix=prefix))

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
