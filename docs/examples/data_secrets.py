"""Secrets: set one through the management API, read it from runtime code with flow.secrets."""

import asyncio
import os

from flow_sdk import FlowSDK, PlatformClient


async def store_secret(name: str, value: str) -> None:
    """Management call (what `flow` or the console does); runtime code cannot write secrets."""
    path = f"/api/v1/orgs/{os.environ['ORG_ID']}/workspaces/{os.environ['WORKSPACE_ID']}/secrets/{name}"
    async with PlatformClient() as client:
        await client._request("PUT", path, json={"value": value})


async def main() -> None:
    await store_secret("WEATHER_API_KEY", "wk-local-example")
    async with FlowSDK() as flow:
        api_key = await flow.secrets.get("WEATHER_API_KEY")
        print("read a secret of", len(api_key), "characters")

        # Names and update times only, in name order, a page at a time; values are never listed.
        async for info in flow.secrets.iter():
            if info["name"] == "WEATHER_API_KEY":
                print("listed", info["name"], "updated at", info["updated_at"])


if __name__ == "__main__":
    asyncio.run(main())
