"""The seed's storage, vector and memory examples, with pre-signed URLs used by a plain client without token."""

from __future__ import annotations

import httpx
import pytest

from flow_sdk import FlowSDK
from flow_sdk.platform_client import PlatformNotFoundError

PDF_BYTES = b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 512


def _unit(*values: float) -> list[float]:
    norm = sum(v * v for v in values) ** 0.5
    return [v / norm for v in values]


async def test_storage_upload_download(flow: FlowSDK) -> None:
    pdf_bytes = PDF_BYTES
    # Upload a file
    await flow.storage.upload(
        key="reports/q4-summary.pdf",
        data=pdf_bytes,
        content_type="application/pdf",
    )

    # Download a file
    content = await flow.storage.download("reports/q4-summary.pdf")

    assert content == pdf_bytes
    listed = await flow.storage.list(prefix="reports/")
    assert [(item["key"], item["size"], item["content_type"]) for item in listed] == [
        ("reports/q4-summary.pdf", len(pdf_bytes), "application/pdf")
    ]


async def test_storage_missing_object_is_not_found(flow: FlowSDK) -> None:
    with pytest.raises(PlatformNotFoundError):
        await flow.storage.download("reports/never-uploaded.pdf")


async def test_presigned_urls_work_without_a_token(flow: FlowSDK) -> None:
    # Generate pre-signed URLs
    put_url = await flow.storage.presign_put("uploads/image.png", ttl_seconds=600)
    get_url = await flow.storage.presign_get("uploads/image.png", ttl_seconds=3600)

    async with httpx.AsyncClient(timeout=30) as anonymous:
        uploaded = await anonymous.put(put_url, content=PNG_BYTES, headers={"Content-Type": "image/png"})
        assert uploaded.status_code == 200, uploaded.text
        downloaded = await anonymous.get(get_url)
        assert downloaded.status_code == 200
        assert downloaded.content == PNG_BYTES
        assert downloaded.headers["content-type"] == "image/png"

        wrong_method = await anonymous.put(get_url, content=b"overwrite")
        assert wrong_method.status_code == 403
        tampered = await anonymous.get(get_url.replace("uploads/image.png", "uploads/other.png"))
        assert tampered.status_code == 403
        no_signature = await anonymous.get(get_url.split("?")[0])
        assert no_signature.status_code == 401
    assert await flow.storage.download("uploads/image.png") == PNG_BYTES


async def test_vector_create_upsert_search(flow: FlowSDK) -> None:
    embedding_1, embedding_2, query_vector = _unit(1, 0, 0, 0), _unit(0, 1, 0, 0), _unit(0.9, 0.1, 0, 0)
    # Create an index
    index = await flow.vector.create_index(
        name="product-embeddings",
        dimensions=4,
        metric="cosine",
    )

    # Upsert vectors
    await flow.vector.upsert(
        index_id=index["id"],
        vectors=[
            {"id": "doc-1", "values": embedding_1, "metadata": {"title": "Doc 1"}},
            {"id": "doc-2", "values": embedding_2, "metadata": {"title": "Doc 2"}},
        ],
    )

    # Search
    results = await flow.vector.search(
        index_id=index["id"],
        query_embedding=query_vector,
        top_k=5,
    )
    matches = results["matches"]
    assert [match["id"] for match in matches] == ["doc-1", "doc-2"]
    assert matches[0]["metadata"] == {"title": "Doc 1"}
    assert matches[0]["score"] > matches[1]["score"]

    await flow.vector.upsert(index_id=index["id"], vectors=[{"id": "doc-2", "values": query_vector}])
    best = await flow.vector.search(index_id=index["id"], query_embedding=query_vector, top_k=1)
    assert [match["id"] for match in best["matches"]] == ["doc-2"]
    assert (await flow.vector.get_index(index["id"]))["count"] == 2


async def test_vector_dimension_mismatch_is_rejected(flow: FlowSDK) -> None:
    from flow_sdk.platform_client import PlatformClientError

    index = await flow.vector.create_index(name="small", dimensions=3, metric="cosine")
    with pytest.raises(PlatformClientError) as caught:
        await flow.vector.upsert(index_id=index["id"], vectors=[{"id": "bad", "values": [1.0, 0.0]}])
    assert caught.value.status_code == 400


async def test_memory_store_recall_forget(flow: FlowSDK) -> None:
    # Store a memory
    stored = await flow.memory.store(
        content="The customer prefers email communication.",
        metadata={"customer_id": "cust-123"},
        namespace="customer-prefs",
    )
    other = await flow.memory.store(
        content="Invoices are due within thirty days.",
        metadata={"customer_id": "cust-123"},
        namespace="customer-prefs",
    )
    await flow.memory.store(content="The customer prefers email communication.", namespace="elsewhere")

    # Recall relevant memories
    memories = await flow.memory.recall(
        query="How does the customer prefer to be contacted?",
        top_k=3,
        namespace="customer-prefs",
    )
    recalled = memories["memories"]
    assert [memory["id"] for memory in recalled] == [stored["id"], other["id"]]
    assert recalled[0]["metadata"] == {"customer_id": "cust-123"}

    # Forget specific memories
    forgotten = await flow.memory.forget(
        vector_ids=[stored["id"], "mem-uuid-2"],
        namespace="customer-prefs",
    )
    assert forgotten["forgotten"] == 1
    after = await flow.memory.recall(
        query="How does the customer prefer to be contacted?", top_k=3, namespace="customer-prefs"
    )
    assert [memory["id"] for memory in after["memories"]] == [other["id"]]
    elsewhere = await flow.memory.recall(query="email", top_k=3, namespace="elsewhere")
    assert len(elsewhere["memories"]) == 1
