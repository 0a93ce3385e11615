"""GatewayClient: the AI gateway on its own, for programs that need models but nothing else."""

import asyncio

from flow_sdk import GatewayClient


async def main() -> None:
    # Reads GATEWAY_URL (falling back to PLATFORM_API_URL) and AUTH_TOKEN.
    async with GatewayClient() as gateway:
        response = await gateway.chat_completion(
            model="offline/chat",
            messages=[{"role": "user", "content": "Hello, gateway"}],
        )
        print(response["model"], "answered:", response["choices"][0]["message"]["content"])

        result = await gateway.embedding(model="offline/embed", input="one vector, please")
        print(len(result["data"][0]["embedding"]), "dimensions")


if __name__ == "__main__":
    asyncio.run(main())
