"""Chat with a model through the AI gateway: one answer, then a streamed one."""

import asyncio

from flow_sdk import FlowSDK


async def main() -> None:
    async with FlowSDK() as flow:
        response = await flow.gateway.chat_completion(
            model="offline/chat",
            messages=[
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Name three prime numbers."},
            ],
            temperature=0.7,
            max_tokens=256,
        )
        print(response["choices"][0]["message"]["content"])
        print("tokens used:", response["usage"]["total_tokens"])

        # A streamed answer arrives as chunks; each carries a piece of the text in its delta.
        stream = await flow.gateway.stream_chat_completion(
            model="offline/chat",
            messages=[{"role": "user", "content": "Write a haiku about code."}],
        )
        async for chunk in stream:
            delta = chunk["choices"][0]["delta"]
            print(delta.get("content", ""), end="", flush=True)
        print()


if __name__ == "__main__":
    asyncio.run(main())
