"""Create a code block, run it and wait for its result, or submit it and collect the result later."""

import asyncio

from flow_sdk import CLIClient, FlowConfig, FlowSDK

SOURCE = """
def main(text: str) -> dict:
    print("counting")
    return {"words": len(text.split())}
"""


def create_code_block() -> str:
    """Save the code block in the workspace's catalog; the platform gives it an id."""
    with CLIClient(FlowConfig.load()) as cli:
        block = cli.create_component("code_block", {"name": "word-count", "spec": {"source": SOURCE}})
    return block["id"]


async def main(code_block_id: str) -> None:
    async with FlowSDK() as flow:
        # Submit and wait in one call; the result is the execution's envelope.
        result = await flow.code_blocks.run(
            code_block_id=code_block_id,
            input_parameters={"text": "one two three"},
        )
        print(result["status"], result["output"], repr(result["stdout"]))

        # result_mode="output" returns only what main() returned.
        output = await flow.code_blocks.run(
            code_block_id=code_block_id,
            input_parameters={"text": "a b c d"},
            result_mode="output",
        )
        print(output)

        # Submit now, do other work, then wait for the result.
        handle = await flow.code_blocks.submit(
            code_block_id=code_block_id,
            input_parameters={"text": "durable executions survive restarts"},
        )
        execution_id = handle["execution_id"]
        status = await flow.code_blocks.get_status(execution_id)
        print("submitted:", execution_id, status["status"])
        finished = await flow.code_blocks.await_result(execution_id, timeout_seconds=120)
        print(finished["status"], finished["output"])

        # This code block's executions, newest first, fetched a page at a time.
        async for execution in flow.code_blocks.iter_executions(component_id=code_block_id):
            print(execution["execution_id"], execution["status"])


if __name__ == "__main__":
    asyncio.run(main(create_code_block()))
