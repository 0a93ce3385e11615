"""Turn text into vectors with the gateway's embeddings endpoint, and compare them."""

import asyncio
import math

from flow_sdk import FlowSDK


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


async def main() -> None:
    async with FlowSDK() as flow:
        result = await flow.gateway.embedding(
            model="offline/embed",
            input=["How do I reset my password?", "Steps to change a password", "Quarterly revenue"],
        )
        question, close, far = (item["embedding"] for item in result["data"])
        print(f"{len(question)} dimensions")
        print(f"similar texts: {cosine(question, close):.2f}, unrelated: {cosine(question, far):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
