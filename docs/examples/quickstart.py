"""Your first FlowSDK program: ask a model a question through the platform's AI gateway."""

import asyncio

from flow_sdk import FlowSDK


async def main() -> None:
    # With no arguments, FlowSDK reads PLATFORM_API_URL, AUTH_TOKEN, ORG_ID, WORKSPACE_ID, ...
    async with FlowSDK() as flow:
        response = await flow.gateway.chat_completion(
            model="offline/chat",
            messages=[{"role": "user", "content": "What is the capital of France?"}],
        )
        print(response["choices"][0]["message"]["content"])


if __name__ == "__main__":
    asyncio.run(main())
