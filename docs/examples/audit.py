"""Audit log: record what your code did, to which resource, for compliance reviews."""

import asyncio

from flow_sdk import FlowSDK


async def main() -> None:
    async with FlowSDK() as flow:
        await flow.audit.log(
            action="document.reviewed",
            resource_type="document",
            resource_id="doc-1",
            details={"decision": "approved"},
        )
        # flow.log(...) is a shorter spelling of the same call.
        await flow.log("document.archived", "document", "doc-1", {"reason": "superseded"})
        print("two audit entries written for doc-1")

        # Newest first, a page at a time, filtered by action and resource.
        async for event in flow.audit.iter(resource_id="doc-1"):
            print(event["action"], event["created_at"])


if __name__ == "__main__":
    asyncio.run(main())
