"""A hosted service that greets its caller and remembers how often it did."""

from __future__ import annotations

from fastapi import FastAPI

from flow_sdk import FlowSDK

flow = FlowSDK()  # configured by the platform from the runtime variables
app = FastAPI(title="Greeter")


@app.get("/hello/{name}")
async def hello(name: str) -> dict[str, object]:
    """Greet ``name`` and count the greetings in the service's state."""
    count = int(await flow.state.get(f"greetings:{name}", 0)) + 1
    await flow.state.set(f"greetings:{name}", count)
    return {"greeting": f"Hello, {name}!", "count": count}
