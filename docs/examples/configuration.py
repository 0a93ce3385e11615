"""Configuration: explicit settings instead of runtime variables, and saved profiles for scripts."""

import asyncio
import os
import tempfile
from pathlib import Path

from flow_sdk import CLIClient, FlowConfig, FlowSDK


async def explicit_settings() -> None:
    """Every runtime variable has a constructor argument; arguments win over the environment."""
    async with FlowSDK(
        org_id=os.environ["ORG_ID"],
        workspace_id=os.environ["WORKSPACE_ID"],
        auth_token=os.environ["AUTH_TOKEN"],
        platform_url=os.environ["PLATFORM_API_URL"],
        gateway_url=os.environ["PLATFORM_API_URL"],  # the gateway shares the platform's URL here
        ring_id=os.environ["RING_ID"],
    ) as flow:
        answer = await flow.gateway.chat_completion(
            model="offline/chat", messages=[{"role": "user", "content": "configured by hand"}]
        )
        print(answer["choices"][0]["message"]["content"])


def saved_profiles(config_file: Path) -> None:
    """What `flow login` does: save credentials in a named profile, then load it by name."""
    url = os.environ["PLATFORM_API_URL"]
    token = CLIClient.exchange_api_key(url, os.environ["FLOW_API_KEY"])
    profile = FlowConfig(
        url,
        token,
        os.environ["ORG_ID"],
        os.environ["WORKSPACE_ID"],
        api_key=os.environ["FLOW_API_KEY"],  # lets the client get a new token when this one expires
        profile="local",
        path=config_file,
    )
    profile.save(make_current=True)

    loaded = FlowConfig.load("local", path=config_file, use_env=False)
    print(loaded)  # the repr masks the token and the key
    with CLIClient(loaded) as client:
        print("verified:", client.verify_credentials())


if __name__ == "__main__":
    asyncio.run(explicit_settings())
    with tempfile.TemporaryDirectory() as folder:
        saved_profiles(Path(folder) / "config.json")
