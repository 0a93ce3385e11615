"""Stream helpers: print the text as it arrives, then read the whole completion assembled from it."""

import asyncio

from flow_sdk import FlowSDK


async def main() -> None:
    async with FlowSDK() as flow:
        stream = await flow.gateway.stream_chat_completion(
            model="offline/chat",
            messages=[{"role": "user", "content": "Stream this sentence back to me."}],
        )
        async for text in stream.text_stream():  # only the text of each chunk
            print(text, end="", flush=True)
        print()

        completion = await stream.final_completion()  # as if the call had not streamed
        print("finish reason:", completion["choices"][0]["finish_reason"])


if __name__ == "__main__":
    asyncio.run(main())
