"""``flow.storage``: platform object storage and pre-signed URLs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flow_sdk._errors import FlowSDKError
from flow_sdk._requests import body_model
from flow_sdk.namespaces._base import Namespace

if TYPE_CHECKING:
    from flow_types import StorageObject

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
        from flow_platform_client.types import File

        body = File(payload=cast(Any, bytes(data)), mime_type=content_type)
        result = await self._call(
            "storage",
            "upload_storage_object",
            self._flow._org(),
            check_key(key),
            body=body,
            extra_headers={"Content-Type": content_type},
        )
        return cast("StorageObject", result)

    async def download(self, key: str) -> bytes:
        """Download an object's bytes (``GET /api/v1/orgs/{org_id}/storage/objects/{key}``)."""
        content = await self._call("storage", "download_storage_object", self._flow._org(), check_key(key))
        if isinstance(content, bytes):
            return content
        return b"" if content is None else str(content).encode()

    async def delete(self, key: str) -> None:
        """Delete an object (``DELETE /api/v1/orgs/{org_id}/storage/objects/{key}``)."""
        await self._call("storage", "delete_storage_object", self._flow._org(), check_key(key))

    async def list(self, prefix: str = "") -> list[StorageObject]:
        """List objects whose key starts with ``prefix`` (``GET /api/v1/orgs/{org_id}/storage/objects``)."""
        result = await self._call("storage", "list_storage_objects", self._flow._org(), prefix=prefix)
        return cast("list[StorageObject]", result)

    async def _presign(self, key: str, method: str, ttl_seconds: int) -> str:
        if ttl_seconds < 1:
            raise FlowSDKError(f"ttl_seconds must be >= 1, got {ttl_seconds}")
        body = body_model(
            "PresignRequest", {"key": check_key(key), "method": method, "ttl_seconds": ttl_seconds}
        )
        result = await self._call("storage", "presign_storage_object", self._flow._org(), body=body)
        return cast(str, result["url"])

    async def presign_put(self, key: str, ttl_seconds: int = 3600) -> str:
        """Return a pre-signed upload URL (``POST /api/v1/orgs/{org_id}/storage/presign``)."""
        return await self._presign(key, "PUT", ttl_seconds)

    async def presign_get(self, key: str, ttl_seconds: int = 3600) -> str:
        """Return a pre-signed download URL (``POST /api/v1/orgs/{org_id}/storage/presign``)."""
        return await self._presign(key, "GET", ttl_seconds)
