"""Service to service: a front door forwards its caller's token to the notes service, or uses its own."""

import asyncio
import uuid
from pathlib import Path

from flow_sdk import CLIClient, FlowConfig, FlowSDK

HERE = Path(__file__).parent


def deploy_services() -> str:
    """Deploy the notes service, then a front door told the notes service's id; returns the front door."""
    suffix = uuid.uuid4().hex[:8]
    notes_id, frontdoor_id = f"notes-{suffix}", f"frontdoor-{suffix}"
    with CLIClient(FlowConfig.load()) as cli:
        cli.hosted_services.deploy(notes_id, "main:app", source_dir=str(HERE / "notes_service"))
        cli.hosted_services.deploy(
            frontdoor_id,
            "main:app",
            source_dir=str(HERE / "frontdoor_service"),
            env={"NOTES_SERVICE_ID": notes_id},
        )
    return frontdoor_id


async def main(frontdoor_id: str) -> None:
    async with FlowSDK() as flow:
        # A token minted for the front door, carrying a tenant claim.
        minted = await flow.service_tokens.mint({"tenant_id": "t-42"}, service_id=frontdoor_id)
    async with FlowSDK(auth_token=minted["token"]) as caller:
        print("forwarded:", await caller.services.get("/as-caller", service_id=frontdoor_id))
        print("own token:", await caller.services.get("/as-service", service_id=frontdoor_id))


if __name__ == "__main__":
    asyncio.run(main(deploy_services()))
