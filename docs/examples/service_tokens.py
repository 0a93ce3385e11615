"""Mint a service token with custom claims, and call a hosted service with it."""

import asyncio
import uuid
from pathlib import Path

from flow_sdk import CLIClient, FlowConfig, FlowSDK

SERVICE_DIR = Path(__file__).parent / "notes_service"


def deploy_service() -> str:
    service_id = f"notes-{uuid.uuid4().hex[:8]}"
    with CLIClient(FlowConfig.load()) as cli:
        cli.hosted_services.deploy(service_id, "main:app", source_dir=str(SERVICE_DIR))
    return service_id


async def main(service_id: str) -> None:
    async with FlowSDK() as flow:
        minted = await flow.service_tokens.mint(
            {"tenant_id": "t-123", "role": "reader"}, ttl_minutes=60, service_id=service_id
        )
        print("token for", minted["service_id"], "expires", minted["expires_at"])

    # Whoever holds the token can call that one service, and the service sees its claims.
    async with FlowSDK(auth_token=minted["token"]) as holder:
        print(await holder.services.get("/whoami", service_id=service_id))


if __name__ == "__main__":
    asyncio.run(main(deploy_service()))
