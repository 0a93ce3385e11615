"""Cancel an execution that takes too long, and read the traceback of one that failed."""

import asyncio

from flow_sdk import CLIClient, FlowConfig, FlowSDK
from flow_sdk.platform_client import PlatformExecutionError

SLOW = """
import time

def main(seconds: float) -> dict:
    time.sleep(seconds)
    return {"slept": seconds}
"""

BROKEN = """
def main(numbers: list) -> float:
    return sum(numbers) / len(numbers)
"""


def create_code_blocks() -> tuple[str, str]:
    with CLIClient(FlowConfig.load()) as cli:
        slow = cli.create_component("code_block", {"name": "sleeper", "spec": {"source": SLOW}})
        broken = cli.create_component("code_block", {"name": "average", "spec": {"source": BROKEN}})
    return slow["id"], broken["id"]


async def main(slow_id: str, broken_id: str) -> None:
    async with FlowSDK() as flow:
        handle = await flow.code_blocks.submit(code_block_id=slow_id, input_parameters={"seconds": 60})
        cancelled = await flow.code_blocks.cancel(handle["execution_id"])
        print("after cancel:", cancelled["status"])

        try:
            await flow.code_blocks.run(code_block_id=broken_id, input_parameters={"numbers": []})
        except PlatformExecutionError as exc:
            # The runner reports the code block's own traceback with the error.
            traceback = exc.remote_traceback or str(exc)
            print("failed:", traceback.strip().splitlines()[-1])


if __name__ == "__main__":
    asyncio.run(main(*create_code_blocks()))
