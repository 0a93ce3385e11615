"""Vector indexes: create one, upsert embeddings with metadata, search by similarity."""

import asyncio
import uuid

from flow_sdk import FlowSDK

PRODUCTS = {
    "lamp": "A warm desk lamp with a dimmer",
    "chair": "An ergonomic office chair with lumbar support",
    "kettle": "An electric kettle that boils water in a minute",
}


async def main() -> None:
    async with FlowSDK() as flow:
        embedded = await flow.gateway.embedding(model="offline/embed", input=list(PRODUCTS.values()))
        dimensions = len(embedded["data"][0]["embedding"])

        index = await flow.vector.create_index(
            name=f"products-{uuid.uuid4().hex[:8]}", dimensions=dimensions, metric="cosine"
        )
        await flow.vector.upsert(
            index_id=index["id"],
            vectors=[
                {"id": product_id, "values": item["embedding"], "metadata": {"text": text}}
                for (product_id, text), item in zip(PRODUCTS.items(), embedded["data"], strict=True)
            ],
        )

        query = await flow.gateway.embedding(model="offline/embed", input="a comfortable office chair")
        results = await flow.vector.search(
            index_id=index["id"], query_embedding=query["data"][0]["embedding"], top_k=2
        )
        for match in results["matches"]:
            print(f"{match['score']:.2f}  {match['id']}: {(match.get('metadata') or {}).get('text')}")

        # The workspace's indexes, oldest first, a page at a time.
        async for found in flow.vector.iter_indexes():
            if found["id"] == index["id"]:
                print("index", found["name"], "holds", found["count"], "vectors")


if __name__ == "__main__":
    asyncio.run(main())
