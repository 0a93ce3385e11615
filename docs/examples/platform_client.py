"""PlatformClient: authenticated requests to any API path, and the durable execution primitives."""

import asyncio
import os

from flow_sdk import CLIClient, FlowConfig, PlatformClient

SOURCE = """
def main(a: int, b: int) -> dict:
    return {"product": a * b}
"""


def create_code_block() -> str:
    with CLIClient(FlowConfig.load()) as cli:
        block = cli.create_component("code_block", {"name": "multiply", "spec": {"source": SOURCE}})
    return block["id"]


async def main(code_block_id: str) -> None:
    # Reads PLATFORM_API_URL and AUTH_TOKEN (and ORG_ID, WORKSPACE_ID) from the environment.
    async with PlatformClient(timeout=60.0) as client:
        orgs = await client._request("GET", "/api/v1/tenants/orgs")
        print("orgs:", [org["name"] for org in orgs])

        # Submit and wait in one call.
        result = await client.execute_code_block(
            code_block_id=code_block_id,
            input_parameters={"a": 6, "b": 7},
            context={"org_id": os.environ["ORG_ID"], "workspace_id": os.environ["WORKSPACE_ID"]},
            ring_id=os.environ["RING_ID"],
            timeout_seconds=120,
        )
        print(result["status"], result["output"])

        # The same in steps: submit, look, wait.
        handle = await client.submit_code_block_execution(
            code_block_id=code_block_id,
            input_parameters={"a": 3, "b": 5},
            ring_id=os.environ["RING_ID"],
            timeout_seconds=120,
        )
        execution_id = handle["execution_id"]
        status = await client.get_execution_status(execution_id)
        print("status:", status["status"])
        finished = await client.await_execution_result(
            execution_id, timeout_seconds=120, poll_interval_seconds=0.5
        )
        print(finished["status"], finished["output"])


if __name__ == "__main__":
    asyncio.run(main(create_code_block()))
