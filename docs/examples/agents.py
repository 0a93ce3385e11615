"""An agent that uses a code block as a tool, and the conversation the platform keeps of its run."""

import asyncio

from flow_sdk import CLIClient, FlowConfig, FlowSDK

ADD = """
def main(a: int, b: int) -> dict:
    return {"sum": a + b}
"""


def create_agent() -> str:
    """A code block becomes a tool: its main() parameters are the tool's arguments."""
    with CLIClient(FlowConfig.load()) as cli:
        tool = cli.create_component("code_block", {"name": "add", "spec": {"source": ADD}})
        spec = {
            "model": "offline/echo",
            "system_prompt": "You add numbers with the add tool.",
            "tools": [tool["id"]],
            "max_steps": 4,
        }
        agent = cli.create_component("agent", {"name": "adder", "spec": spec})
    return agent["id"]


async def main(agent_id: str) -> None:
    async with FlowSDK() as flow:
        result = await flow.agents.run(
            agent_id=agent_id,
            input_data={"question": "Use the tool to add 2 and 3"},
        )
        print(result["output"]["answer"])
        print("tokens:", result["usage"]["total_tokens"])

        # Every run is stored as a conversation.
        conversation = await flow.conversations.get(result["conversation_id"])
        for message in conversation["messages"]:
            print(f"  {message['role']}: {message.get('content')}")

        # Submit without waiting, then look at the execution's status.
        handle = await flow.agents.submit(
            agent_id=agent_id, input_data={"question": "Use the tool to add 40 and 2"}
        )
        status = await flow.agents.get_status(handle["execution_id"])
        print("status:", status["status"])
        finished = await flow.agents.await_result(handle["execution_id"], timeout_seconds=120)
        print(finished["output"]["answer"])

        recent = await flow.conversations.list(limit=5)
        print(len(recent), "recent conversations")


if __name__ == "__main__":
    asyncio.run(main(create_agent()))
