"""SyncFlowSDK for scripts without an event loop, and one FlowSDK reused across asyncio.run calls."""

import asyncio

from flow_sdk import FlowSDK
from flow_sdk.sync_flow_sdk import SyncFlowSDK


def with_the_sync_twin() -> None:
    # The same constructor, namespaces and results as FlowSDK, without await.
    with SyncFlowSDK() as flow:
        flow.storage.upload(key="notes/sync.txt", data=b"written without await")
        print(flow.storage.download("notes/sync.txt").decode())
        answer = flow.gateway.chat_completion(
            model="offline/chat", messages=[{"role": "user", "content": "hello from sync code"}]
        )
        print(answer["choices"][0]["message"]["content"])


async def read(flow: FlowSDK) -> bytes:
    return await flow.storage.download("notes/sync.txt")


def one_sdk_many_loops() -> None:
    # Each asyncio.run() starts a new event loop; the SDK keeps one connection pool per loop.
    flow = FlowSDK()
    for _ in range(3):
        print(len(asyncio.run(read(flow))), "bytes")
    asyncio.run(flow.close())


if __name__ == "__main__":
    with_the_sync_twin()
    one_sdk_many_loops()
