"""Lists a page at a time: iterate lazily, stop early, or read every page with list()."""

import asyncio

from flow_sdk import FlowSDK


async def main() -> None:
    async with FlowSDK() as flow:
        for n in range(5):
            await flow.storage.upload(key=f"lists-async/{n}.txt", data=b"page me")

        # Two objects per request: the loop below sends three requests, each when it needs the next page.
        async for item in flow.storage.iter("lists-async/", page_size=2):
            print("object", item["key"])

        # Stopping early fetches nothing more: this asks for one page only.
        async for item in flow.storage.iter("lists-async/", page_size=2):
            print("the first object is", item["key"])
            break

        # list() reads every page and returns one list.
        everything = await flow.storage.list("lists-async/")
        print("list() answered", len(everything), "objects")


if __name__ == "__main__":
    asyncio.run(main())
