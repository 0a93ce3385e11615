"""A tour of FlowSDK against a local Manifest Platform: no cloud account, no network.

Run it with ``nox -s demo`` (or ``.venv/bin/python examples/demo.py``) after ``bash scripts/setup.sh``.
It starts a local platform on a free loopback port with a temporary data directory, sets up a little
data through the management API (CLIClient), then uses FlowSDK the way code running on the platform
does. It exits with status 1 when any step fails.
"""

from __future__ import annotations

import asyncio
import os
import sys

import httpx
from rich.console import Console

from flow_local.harness import LocalPlatform
from flow_sdk import CLIClient, FlowConfig, FlowSDK, PlatformClientError, PlatformNotFoundError
from flow_sdk.types import ChatMessage, VectorRecord

console = Console(highlight=False)

CODE_BLOCK = """
async def main(text: str, flow) -> dict:
    reply = await flow.gateway.chat_completion(model="offline/chat", messages=[{"role": "user", "content": text}])
    return {"words": len(text.split()), "reply": reply["choices"][0]["message"]["content"]}
"""
CUSTOMERS = [
    {"name": "Ada", "email": "ada@example.com", "plan": "enterprise"},
    {"name": "Linus", "email": "linus@example.com", "plan": "free"},
    {"name": "Grace", "email": "grace@example.com", "plan": "enterprise"},
]


def show(section: str, text: object) -> None:
    """Print one result line."""
    console.print(f"[green]✓[/] [bold]{section:<11}[/] {text}")


async def gateway(flow: FlowSDK) -> None:
    messages: list[ChatMessage] = [{"role": "user", "content": "What is the capital of France?"}]
    response = await flow.gateway.chat_completion(model="offline/chat", messages=messages, max_tokens=64)
    show("chat", response["choices"][0]["message"]["content"])
    pieces = []
    async for chunk in await flow.gateway.stream_chat_completion(
        model="offline/chat", messages=[{"role": "user", "content": "Write a haiku about code."}]
    ):
        pieces.append(chunk["choices"][0]["delta"].get("content", ""))
    show("streaming", f"{len([p for p in pieces if p])} chunks: {''.join(pieces)!r}")


async def storage(flow: FlowSDK) -> None:
    await flow.storage.upload(
        key="reports/q4-summary.pdf", data=b"%PDF-1.7 demo", content_type="application/pdf"
    )
    content = await flow.storage.download("reports/q4-summary.pdf")
    url = await flow.storage.presign_get("reports/q4-summary.pdf", ttl_seconds=600)
    shared = await asyncio.to_thread(httpx.get, url)  # a pre-signed URL needs no token
    show("storage", f"read back {len(content)} bytes; presigned GET without token: HTTP {shared.status_code}")
    shared.raise_for_status()


async def datasets(flow: FlowSDK, admin: CLIClient) -> None:
    admin.datasets.create({"id": "customer-records", "name": "Customers"})
    await flow.datasets.insert_rows("customer-records", CUSTOMERS)
    request = {
        "fields": ["name"],
        "filters": [{"field": "plan", "op": "eq", "value": "enterprise"}],
        "limit": 50,
    }
    rows = await flow.datasets.query(dataset_id="customer-records", request=request)
    show("datasets", f"enterprise customers: {[row['name'] for row in rows['rows']]}")


async def vector(flow: FlowSDK) -> None:
    docs = {"doc-1": "Reset your password in settings.", "doc-2": "Invoices are emailed monthly."}
    embedded = await flow.gateway.embedding(model="offline/embed", input=list(docs.values()))
    index = await flow.vector.create_index(name="help-articles", dimensions=384, metric="cosine")
    vectors: list[VectorRecord] = [
        {"id": doc_id, "values": item["embedding"], "metadata": {"text": text}}
        for (doc_id, text), item in zip(docs.items(), embedded["data"], strict=True)
    ]
    await flow.vector.upsert(index_id=index["id"], vectors=vectors)
    query = await flow.gateway.embedding(model="offline/embed", input="how do I reset my password?")
    results = await flow.vector.search(
        index_id=index["id"], query_embedding=query["data"][0]["embedding"], top_k=1
    )
    show("vector", f"nearest to 'reset my password': {results['matches'][0]['metadata']['text']!r}")


async def memory(flow: FlowSDK) -> None:
    await flow.memory.store(content="The customer prefers email communication.", namespace="customer-prefs")
    await flow.memory.store(content="The customer is based in Lisbon.", namespace="customer-prefs")
    memories = await flow.memory.recall(
        query="How should we contact the customer?", top_k=1, namespace="customer-prefs"
    )
    show("memory", f"recalled {memories['memories'][0]['content']!r}")


async def request_scoped(flow: FlowSDK) -> None:
    token = flow.bind_request_context(
        auth={"subject_id": "user-123", "scopes": ["read", "write"], "token_type": "user"},
        service={"service_id": "demo-service", "component_id": "demo-component", "version": 1},
    )
    try:
        await flow.state.set("last_sync_cursor", "2025-01-15T10:30:00Z")
        show(
            "state",
            f"last_sync_cursor = {await flow.state.get('last_sync_cursor')} (as {flow.auth.subject_id})",
        )
        event = await flow.audit.log(
            action="document.reviewed",
            resource_type="document",
            resource_id="doc-1",
            details={"reviewer": flow.auth.subject_id, "decision": "approved"},
        )
        show(
            "audit",
            f"{event['action']} on {event['resource_type']}/{event['resource_id']} by {event['actor']}",
        )
    finally:
        flow.reset_request_context(token)


async def executions_available(flow: FlowSDK) -> bool:
    """Ask the execution engine about an unknown execution: a 404 means it is there and answering."""
    try:
        await flow.code_blocks.get_status("capability-probe")
    except PlatformNotFoundError:
        return True
    except PlatformClientError as exc:
        console.print(
            f"[yellow]-[/] [bold]{'code block':<11}[/] skipped: executions unavailable ({exc.detail})"
        )
        return False
    return True


async def code_block(flow: FlowSDK, admin: CLIClient) -> None:
    if not await executions_available(flow):
        return
    block = admin.create_component("code_block", {"name": "word-count", "spec": {"source": CODE_BLOCK}})
    output = await flow.code_blocks.run(
        code_block_id=block["id"], input_parameters={"text": "Analyze this."}, result_mode="output"
    )
    show("code block", f"ran in a worker: {output}")


async def tour(lp: LocalPlatform) -> None:
    os.environ.update(lp.env())  # what the platform injects into code running on it
    config = FlowConfig(lp.url, lp.admin_token, lp.org_id, lp.workspace_id)
    with CLIClient(config) as admin:  # management API, as scripts and the CLI use it
        async with FlowSDK() as flow:
            await gateway(flow)
            await storage(flow)
            await datasets(flow, admin)
            await vector(flow)
            await memory(flow)
            await request_scoped(flow)
            await code_block(flow, admin)


def main() -> int:
    """Start the platform, run the tour, and return the exit status."""
    try:
        with console.status("starting a local platform..."):
            lp = LocalPlatform().start()
    except Exception as exc:
        console.print(f"[red]✗ the local platform did not start:[/] {type(exc).__name__}: {exc}")
        return 1
    console.print(f"Local platform at [bold]{lp.url}[/]\n[dim]temporary data dir: {lp.data_dir}[/]\n")
    try:
        asyncio.run(tour(lp))
    except Exception as exc:
        console.print(f"\n[red]✗ demo failed:[/] {type(exc).__name__}: {exc}")
        return 1
    finally:
        lp.stop()
    console.print("\n[bold green]All done.[/] Next: read README.md, or run `nox -s tests`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
