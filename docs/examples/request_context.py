"""Request context: bind each request's caller on a shared FlowSDK, as the hosted-service runtime does.

You need this only when you write your own request handling; inside a hosted service the platform
binds and resets the context for every request.
"""

import asyncio

from flow_sdk import CLIClient, FlowConfig, FlowSDK

flow = FlowSDK()  # one instance shared by all requests


def create_component() -> str:
    """State belongs to a component: the one whose requests this program handles."""
    spec = {"source": "def main() -> int:\n    return 0\n", "state_defaults": {"visits": 0}}
    with CLIClient(FlowConfig.load()) as cli:
        return cli.create_component("code_block", {"name": "visits", "spec": spec})["id"]


async def handle_request(component_id: str, user: str, scopes: list[str]) -> str:
    token = flow.bind_request_context(
        auth={"subject_id": user, "scopes": scopes, "token_type": "user"},
        execution={"request_id": f"req-{user}"},
        service={"component_id": component_id},
    )
    try:
        await flow.state.initialize()  # fills in the component's state defaults once
        visits = await flow.state.get("visits", 0) + 1
        await flow.state.set("visits", visits)
        role = "admin" if "admin" in flow.auth.scopes else "reader"
        return f"{flow.auth.subject_id} ({role}) made visit {visits}"
    finally:
        flow.reset_request_context(token)


async def main(component_id: str) -> None:
    async with flow:
        # Two requests at once: each sees its own caller, and both update the same state.
        first = await handle_request(component_id, "user-1", ["read"])
        second, third = await asyncio.gather(
            handle_request(component_id, "user-2", ["read", "admin"]),
            handle_request(component_id, "user-3", ["read"]),
        )
        for line in (first, second, third):
            print(line)
        print("outside a request, the caller is", flow.auth.subject_id)


if __name__ == "__main__":
    asyncio.run(main(create_component()))
