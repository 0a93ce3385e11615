"""Object storage on S3 (SeaweedFS): the SDK's storage calls unchanged, presigned URLs the store's own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from flow_local.areas.storage import StorageBackend
from flow_local.cluster.engines import PostgresEngine, SeaweedEngine
from flow_local.errors import ApiError
from flow_local.harness import LocalPlatform
from flow_local.objectstore import MULTIPART_THRESHOLD, S3ObjectStore
from flow_sdk import FlowSDK
from flow_sdk.platform_client import PlatformNotFoundError

BUCKET = "flow-objects"


@pytest.fixture(scope="module")
def s3_platform(postgres: PostgresEngine, seaweed: SeaweedEngine) -> Iterator[LocalPlatform]:
    """A platform on PostgreSQL whose objects live in a SeaweedFS bucket."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in seaweed.credentials_env().items():
            patch.setenv(name, value)
        platform = LocalPlatform(
            database_url=postgres.create_database("object_storage"),
            object_store_url=seaweed.object_store_url(BUCKET, "platform"),
        ).start()
        try:
            yield platform
        finally:
            platform.stop()


@pytest.fixture
async def flow(s3_platform: LocalPlatform) -> AsyncIterator[FlowSDK]:
    env = s3_platform.env()
    async with FlowSDK(
        platform_url=env["PLATFORM_API_URL"],
        auth_token=env["AUTH_TOKEN"],
        org_id=env["ORG_ID"],
        workspace_id=env["WORKSPACE_ID"],
    ) as client:
        yield client


def _store(platform: LocalPlatform) -> S3ObjectStore:
    assert platform.platform is not None
    store = platform.platform.backend(StorageBackend).objects
    assert isinstance(store, S3ObjectStore)
    return store


async def test_upload_download_list_delete_through_the_sdk(flow: FlowSDK, s3_platform: LocalPlatform) -> None:
    stored = await flow.storage.upload(
        key="reports/q4 summary.pdf", data=b"%PDF-1.7", content_type="application/pdf"
    )
    assert stored["size"] == 8 and stored["content_type"] == "application/pdf"
    assert await flow.storage.download("reports/q4 summary.pdf") == b"%PDF-1.7"
    in_bucket = _store(s3_platform).head(f"{s3_platform.org_id}/reports/q4 summary.pdf")
    assert (in_bucket.size, in_bucket.content_type) == (8, "application/pdf")
    await flow.storage.upload(key="reports/q3.csv", data=b"a,b\n", content_type="text/csv")
    await flow.storage.upload(key="other/x.bin", data=b"x")
    listed = await flow.storage.list(prefix="reports/")
    assert [o["key"] for o in listed] == ["reports/q3.csv", "reports/q4 summary.pdf"]
    await flow.storage.delete("reports/q3.csv")
    with pytest.raises(PlatformNotFoundError):
        await flow.storage.download("reports/q3.csv")
    assert [o["key"] for o in await flow.storage.list(prefix="reports/")] == ["reports/q4 summary.pdf"]


async def test_presigned_get_is_the_stores_own_sigv4_url(flow: FlowSDK, seaweed: SeaweedEngine) -> None:
    await flow.storage.upload(key="shared/report.txt", data=b"for your eyes", content_type="text/plain")
    url = await flow.storage.presign_get("shared/report.txt", ttl_seconds=300)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}" == seaweed.endpoint
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["300"]
    async with httpx.AsyncClient() as http:
        answer = await http.get(url)
        assert (answer.status_code, answer.content) == (200, b"for your eyes")
        tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
        assert (await http.get(tampered)).status_code == 403
        other_key = url.replace("shared/report.txt", "shared/other.txt")
        assert (await http.get(other_key)).status_code == 403


async def test_an_object_put_through_a_presigned_url_is_seen_by_the_api(flow: FlowSDK) -> None:
    url = await flow.storage.presign_put("inbox/upload.json", ttl_seconds=300)
    assert "X-Amz-Signature=" in url
    async with httpx.AsyncClient() as http:
        answer = await http.put(url, content=b'{"ok": true}', headers={"Content-Type": "application/json"})
    assert answer.status_code == 200
    assert await flow.storage.download("inbox/upload.json") == b'{"ok": true}'
    [listed] = await flow.storage.list(prefix="inbox/")
    assert (listed["key"], listed["size"], listed["content_type"]) == (
        "inbox/upload.json",
        12,
        "application/json",
    )


async def test_a_large_object_goes_up_in_parts(flow: FlowSDK, s3_platform: LocalPlatform) -> None:
    data = bytes(range(256)) * ((MULTIPART_THRESHOLD + 5 * 1024 * 1024) // 256)
    stored = await flow.storage.upload(key="big/blob.bin", data=data)
    assert stored["size"] == len(data)
    assert await flow.storage.download("big/blob.bin") == data
    etag = _store(s3_platform).head(f"{s3_platform.org_id}/big/blob.bin").etag
    assert etag.rsplit("-", 1)[1] == "3", f"expected a three-part upload, S3 says ETag {etag}"


async def test_another_org_cannot_reach_the_objects(flow: FlowSDK, s3_platform: LocalPlatform) -> None:
    await flow.storage.upload(key="private/a.txt", data=b"mine")
    other = s3_platform.create_tenant("Other org")
    async with FlowSDK(
        platform_url=s3_platform.url,
        auth_token=other["token"],
        org_id=other["org_id"],
        workspace_id=other["workspace_id"],
    ) as intruder:
        assert await intruder.storage.list(prefix="") == []
        with pytest.raises(PlatformNotFoundError):
            await intruder.storage.download("private/a.txt")


def test_a_bucket_not_created_yet_lists_empty(
    seaweed: SeaweedEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in seaweed.credentials_env().items():
        monkeypatch.setenv(name, value)
    store = S3ObjectStore(seaweed.object_store_url("never-written"))
    assert store.list("org/") == []


def test_a_store_that_refuses_us_is_a_500_naming_the_store(
    seaweed: SeaweedEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    store = S3ObjectStore(seaweed.object_store_url(BUCKET))
    with pytest.raises(ApiError) as caught:
        store.put("org/x.txt", b"x", "text/plain")
    assert caught.value.status == 500 and "the object store failed on 'org/x.txt'" in caught.value.detail
    assert "not-the-secret" not in caught.value.detail
