"""Start a local platform from Python, point a FlowSDK at it, and stop it again."""

import asyncio

from flow_local import LocalPlatform
from flow_sdk import FlowSDK


async def main(platform: LocalPlatform) -> None:
    async with FlowSDK(
        org_id=platform.org_id,
        workspace_id=platform.workspace_id,
        auth_token=platform.admin_token,
        platform_url=platform.url,
        ring_id=platform.ring_id,
    ) as flow:
        await flow.storage.upload(key="hello.txt", data=b"hello from a private platform")
        print((await flow.storage.download("hello.txt")).decode())


if __name__ == "__main__":
    # A temporary data directory, a free port, its own NATS server and runners; all gone on exit.
    with LocalPlatform() as platform:
        print("platform at", platform.url)
        asyncio.run(main(platform))
