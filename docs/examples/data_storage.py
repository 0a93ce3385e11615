"""Object storage: upload and download objects, and hand out pre-signed URLs for them."""

import asyncio

import httpx

from flow_sdk import FlowSDK


async def main() -> None:
    async with FlowSDK() as flow:
        await flow.storage.upload(
            key="reports/q4-summary.txt",
            data=b"Revenue grew 12% in the fourth quarter.",
            content_type="text/plain",
        )
        content = await flow.storage.download("reports/q4-summary.txt")
        print(content.decode())

        # A pre-signed URL lets anyone holding it fetch the object, without a token, until it expires.
        get_url = await flow.storage.presign_get("reports/q4-summary.txt", ttl_seconds=3600)
        put_url = await flow.storage.presign_put("uploads/notes.txt", ttl_seconds=600)
        async with httpx.AsyncClient() as http:
            print("through the URL:", (await http.get(get_url)).text)
            (await http.put(put_url, content=b"uploaded without a token")).raise_for_status()
        print((await flow.storage.download("uploads/notes.txt")).decode())

        # A listing comes a page at a time; iter() asks for the next page when the loop reaches it.
        async for item in flow.storage.iter("reports/", page_size=100):
            print(item["key"], item["size"], "bytes")


if __name__ == "__main__":
    asyncio.run(main())
