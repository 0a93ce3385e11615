"""Semantic memory: store facts as text, recall them by meaning, forget the ones no longer true."""

import asyncio

from flow_sdk import FlowSDK


async def main() -> None:
    async with FlowSDK() as flow:
        stored = await flow.memory.store(
            content="The customer prefers email communication.",
            metadata={"customer_id": "cust-123"},
            namespace="customer-prefs",
        )
        await flow.memory.store(
            content="The customer's office is in Lisbon.",
            metadata={"customer_id": "cust-123"},
            namespace="customer-prefs",
        )

        memories = await flow.memory.recall(
            query="How does the customer prefer to be contacted?",
            top_k=1,
            namespace="customer-prefs",
        )
        for memory in memories["memories"]:
            print(f"{memory.get('score') or 0:.2f}  {memory['content']}")

        forgotten = await flow.memory.forget(vector_ids=[stored["id"]], namespace="customer-prefs")
        print("forgot", forgotten["forgotten"], "memory")

        # Namespaces with their sizes, in name order, a page at a time.
        async for namespace in flow.memory.iter_namespaces():
            if namespace["namespace"] == "customer-prefs":
                print("memories in", namespace["namespace"], "->", namespace["count"])


if __name__ == "__main__":
    asyncio.run(main())
