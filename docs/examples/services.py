"""Deploy a hosted service, then call it: by latest or pinned version, and read its skills."""

import asyncio
import uuid
from pathlib import Path

from flow_sdk import CLIClient, FlowConfig, FlowSDK

SERVICE_DIR = Path(__file__).parent / "notes_service"


def deploy_service() -> str:
    """Deploy notes_service/ as version 1 of a new service; returns the service id."""
    service_id = f"notes-{uuid.uuid4().hex[:8]}"
    with CLIClient(FlowConfig.load()) as cli:
        cli.hosted_services.deploy(service_id, "main:app", source_dir=str(SERVICE_DIR))
    return service_id


async def main(service_id: str) -> None:
    async with FlowSDK() as flow:
        summary = await flow.services.post(
            "/summarize", body={"text": "Hosted services run next to your data"}, service_id=service_id
        )
        print(summary)

        me = await flow.services.call("GET", "/whoami", service_id=service_id, version=1)
        print("the service saw:", me)

        skills = await flow.services.skills(service_id)
        print("endpoints:", sorted(endpoint["path"] for endpoint in skills["endpoints"]))


if __name__ == "__main__":
    asyncio.run(main(deploy_service()))
