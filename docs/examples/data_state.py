"""Component state: a code block that remembers how often it ran, between executions."""

import asyncio

from flow_sdk import CLIClient, FlowConfig, FlowSDK

# A parameter named `flow` receives a FlowSDK configured for this execution.
COUNTER = """
async def main(flow, name: str) -> dict:
    runs = await flow.state.get("runs", 0) + 1
    await flow.state.set("runs", runs)
    await flow.state.set("last_caller", name)
    return {"runs": runs, "greeting": f"hello {name}"}
"""


def create_counter() -> str:
    spec = {"source": COUNTER, "state_defaults": {"runs": 0}}
    with CLIClient(FlowConfig.load()) as cli:
        block = cli.create_component("code_block", {"name": "counter", "spec": spec})
    return block["id"]


async def main(code_block_id: str) -> None:
    async with FlowSDK() as flow:
        for name in ("Ada", "Grace", "Linus"):
            output = await flow.code_blocks.run(
                code_block_id=code_block_id, input_parameters={"name": name}, result_mode="output"
            )
            print(output)


if __name__ == "__main__":
    asyncio.run(main(create_counter()))
