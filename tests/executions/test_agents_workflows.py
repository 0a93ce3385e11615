"""Agents (offline model, code-block tools), workflows and transforms on a real local platform."""

from __future__ import annotations

from uuid import UUID

import pytest

from flow_local.harness import LocalPlatform
from flow_sdk import FlowSDK, PlatformClient
from flow_sdk.platform_client import PlatformExecutionError

from .conftest import api, create_component, create_ring

AGENT_UUID = "00000000-0000-0000-0000-0000000a9e27"
WORKFLOW_UUID = "00000000-0000-0000-0000-00000000f10e"
TRANSFORM_UUID = "00000000-0000-0000-0000-0000000007f0"
ADD = "def main(a: int, b: int) -> dict:\n    return {'sum': a + b}\n"
FETCH = (
    "def main(document_url: str) -> dict:\n    return {'text': 'report from ' + document_url, 'pages': 3}\n"
)
COUNT = "def main(text: str) -> dict:\n    return {'words': len(text.split())}\n"
SUMMARY = "def main(words: int, pages: int, title: str) -> dict:\n    return {'summary': f'{title}: {words} words on {pages} pages'}\n"


@pytest.fixture(scope="module", autouse=True)
def components(lp: LocalPlatform) -> None:
    create_ring(lp, "dev-ring-uuid")
    create_component(lp, "code_block", "cb-add", {"source": ADD})
    create_component(lp, "code_block", "cb-fetch", {"source": FETCH})
    create_component(lp, "code_block", "cb-count", {"source": COUNT})
    create_component(lp, "code_block", "cb-summary", {"source": SUMMARY})
    agent = {
        "model": "offline/echo",
        "system_prompt": "You add numbers.",
        "tools": ["cb-add"],
        "max_steps": 4,
    }
    create_component(lp, "agent", "agent-uuid-here", agent)
    create_component(lp, "agent", AGENT_UUID, agent)
    create_component(
        lp, "transform", "tf-title", {"mapping": {"title": "$.meta.title", "first_tag": "$.tags[0]"}}
    )
    create_component(lp, "transform", TRANSFORM_UUID, {"mapping": {"doubled": ["$.value", "$.value"]}})
    steps = [
        {
            "id": "fetch",
            "component_type": "code_block",
            "component_id": "cb-fetch",
            "inputs": {"document_url": "$.input.document_url"},
        },
        {
            "id": "title",
            "component_type": "transform",
            "component_id": "tf-title",
            "inputs": {"meta": {"title": "Quarterly"}, "tags": ["finance"]},
        },
        {
            "id": "count",
            "component_type": "code_block",
            "component_id": "cb-count",
            "depends_on": ["fetch"],
            "inputs": {"text": "$.steps.fetch.output.text"},
        },
        {
            "id": "summary",
            "component_type": "code_block",
            "component_id": "cb-summary",
            "depends_on": ["count", "title"],
            "inputs": {
                "words": "$.steps.count.output.words",
                "pages": "$.steps.fetch.output.pages",
                "title": "$.steps.title.output.title",
            },
        },
    ]
    workflow = {"steps": steps, "output": {"summary": "$.steps.summary.output.summary"}}
    create_component(lp, "workflow", "workflow-uuid-here", workflow)
    create_component(lp, "workflow", WORKFLOW_UUID, workflow)


async def test_seed_agent_examples(flow: FlowSDK) -> None:
    result = await flow.agents.run(
        agent_id="agent-uuid-here",
        input_data={"question": "What were last quarter's revenue trends?"},
        ring_id="dev-ring-uuid",
    )
    assert result["output"]["answer"]

    handle = await flow.agents.submit(
        agent_id="agent-uuid-here",
        input_data={"question": "Summarize the dataset."},
        ring_id="dev-ring-uuid",
    )
    status = await flow.agents.get_status(handle["execution_id"])
    assert status["status"] in ("pending", "running", "completed")


async def test_isolated_agent_calls_a_code_block_tool(lp: LocalPlatform, flow: FlowSDK) -> None:
    result = await flow.agents.run(
        agent_id="agent-uuid-here", input_data={"question": "Use the tool to add 2 and 3"}, ring_id=lp.ring_id
    )
    assert '"sum": 5' in result["output"]["answer"]
    assert [m["role"] for m in result["messages"]] == ["system", "user", "assistant", "tool", "assistant"]
    assert result["usage"]["total_tokens"] > 0
    with api(lp) as client:
        events = client.get(f"/executions/{result['execution_id']}/events").json()
    tool_calls = [e["data"] for e in events if e["event_type"] == "tool_call"]
    assert tool_calls[0]["arguments"] == {"a": 2, "b": 3} and tool_calls[0]["result"] == {"sum": 5}
    assert events[-1]["event_type"] == "done"
    conversations = await flow.conversations.list(limit=50, offset=0)
    assert result["conversation_id"] in [c["id"] for c in conversations]
    stored = await flow.conversations.get(result["conversation_id"])
    assert stored["messages"][-1]["content"] == result["output"]["answer"]


async def test_inline_agent_through_platform_client(runtime_env: dict[str, str]) -> None:
    async with PlatformClient() as client:
        result = await client.execute_agent(
            agent_id=UUID(AGENT_UUID),
            input_data={"question": "Please call the tool with 40 and 2"},
            context={},
            execution_mode="inline",
            ring_id="dev-ring-uuid",
        )
        assert '"sum": 42' in result["output"]["answer"]
        isolated = await client.execute_agent(
            agent_id=UUID(AGENT_UUID),
            input_data={"question": "What are the trends?"},
            context={},
            execution_mode="isolated",
            ring_id="dev-ring-uuid",
        )
        assert isolated["output"]["answer"] == "You said: What are the trends?"
        tool_child = [
            e
            for e in await client._request(
                "GET",
                f"/api/v1/orgs/{client.org_id}/workspaces/{client.workspace_id}/executions",
                params={"limit": 20},
            )
            if e["component_id"] == "cb-add"
        ]
        parent = await client.get_execution_status(result["execution_id"])
        assert any(e["parent_billing_txn_id"] == parent["billing_txn_id"] for e in tool_child)


async def test_seed_workflow_examples(flow: FlowSDK, runtime_env: dict[str, str]) -> None:
    result = await flow.workflows.run(
        workflow_id="workflow-uuid-here",
        input_data={"document_url": "https://example.com/report.pdf"},
        ring_id="dev-ring-uuid",
    )
    assert result["output"] == {"summary": "Quarterly: 3 words on 3 pages"}
    assert {k: v["status"] for k, v in result["steps"].items()} == {
        "fetch": "completed",
        "title": "completed",
        "count": "completed",
        "summary": "completed",
    }
    assert result["steps"]["title"]["output"] == {"title": "Quarterly", "first_tag": "finance"}
    async with PlatformClient() as client:
        result = await client.execute_workflow(
            workflow_id=UUID(WORKFLOW_UUID),
            input_data={"document_url": "https://example.com/report.pdf"},
            ring_id="dev-ring-uuid",
            timeout_seconds=300,
        )
        assert result["status"] == "completed"
        handle = await client.submit_workflow_execution(
            workflow_id=UUID(WORKFLOW_UUID), input_data={"document_url": "u"}, ring_id="dev-ring-uuid"
        )
        done = await client.await_execution_result(handle["execution_id"], timeout_seconds=60)
        assert done["output"]["summary"] == "Quarterly: 3 words on 3 pages"


async def test_failed_step_fails_the_workflow_naming_it(lp: LocalPlatform, flow: FlowSDK) -> None:
    create_component(
        lp, "code_block", "cb-broken", {"source": "def main():\n    raise RuntimeError('disk on fire')\n"}
    )
    steps = [
        {"id": "first", "component_type": "code_block", "component_id": "cb-add", "inputs": {"a": 1, "b": 2}},
        {"id": "boom", "component_type": "code_block", "component_id": "cb-broken", "depends_on": ["first"]},
        {
            "id": "after",
            "component_type": "code_block",
            "component_id": "cb-add",
            "depends_on": ["boom"],
            "inputs": {"a": 1, "b": 1},
        },
    ]
    create_component(lp, "workflow", "wf-broken", {"steps": steps})
    with pytest.raises(PlatformExecutionError, match="step 'boom'") as caught:
        await flow.workflows.run(workflow_id="wf-broken", input_data={}, ring_id=lp.ring_id)
    steps_record = caught.value.result["steps"]
    assert [steps_record[s]["status"] for s in ("first", "boom", "after")] == [
        "completed",
        "failed",
        "skipped",
    ]
    assert "disk on fire" in str(caught.value)


async def test_transform_runs_synchronously(lp: LocalPlatform, runtime_env: dict[str, str]) -> None:
    async with PlatformClient() as client:
        result = await client.execute_transform(
            transform_id=UUID(TRANSFORM_UUID), input_data={"value": 4}, context={}
        )
        assert result == {"output": {"doubled": [4, 4]}}
    with api(lp) as http:
        bad = http.post("/transforms/tf-title/execute", json={"input_data": {"meta": {}}})
        assert bad.status_code == 400 and "title" in bad.json()["detail"]
