"""Conversations: every agent run is stored as a conversation you can list and read back."""

import asyncio

from flow_sdk import CLIClient, FlowConfig, FlowSDK


def create_agent() -> str:
    spec = {"model": "offline/chat", "system_prompt": "You answer briefly."}
    with CLIClient(FlowConfig.load()) as cli:
        return cli.create_component("agent", {"name": "helper", "spec": spec})["id"]


async def main(agent_id: str) -> None:
    async with FlowSDK() as flow:
        result = await flow.agents.run(
            agent_id=agent_id, input_data={"question": "What were last quarter's revenue trends?"}
        )

        convos = await flow.conversations.list(limit=20, offset=0)
        for summary in convos[:3]:
            print(summary["id"], summary["message_count"], "messages")

        # iter() walks every conversation, newest first, fetching a page when the loop reaches it.
        async for summary in flow.conversations.iter(page_size=50):
            if summary["id"] == result["conversation_id"]:
                print("found this run's conversation:", summary["id"])
                break

        convo = await flow.conversations.get(result["conversation_id"])
        for message in convo["messages"]:
            print(f"{message['role']:>9}: {message.get('content')}")


if __name__ == "__main__":
    asyncio.run(main(create_agent()))
