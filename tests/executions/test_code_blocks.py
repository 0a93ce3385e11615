"""Code blocks on a real local platform: the seed examples, every terminal state, runtime variables."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path
from uuid import UUID

import jwt
import pytest

from flow_local.harness import LocalPlatform
from flow_sdk import FlowSDK, PlatformClient
from flow_sdk.platform_client import PlatformExecutionError, PlatformNotFoundError

from .conftest import api, create_component, create_ring

SEED_SOURCE = """
def main(url: str = "", text: str = "", data: str = "") -> dict:
    return {"url": url, "text": text, "data": data, "words": len(text.split())}
"""
PRINTS = """
import sys

def main(count: int) -> int:
    print("out")
    print("err", file=sys.stderr)
    raise ValueError(count)
"""


@pytest.fixture(scope="module", autouse=True)
def seed_ids(lp: LocalPlatform) -> None:
    create_ring(lp, "dev-ring-uuid")
    create_component(lp, "code_block", "cb-uuid-here", {"source": SEED_SOURCE})
    create_component(lp, "code_block", "00000000-0000-0000-0000-00000000c0de", {"source": SEED_SOURCE})


async def test_seed_code_block_examples(flow: FlowSDK) -> None:
    result = await flow.code_blocks.run(
        code_block_id="cb-uuid-here",
        input_parameters={"url": "https://example.com"},
        ring_id="dev-ring-uuid",
    )
    assert result["status"] == "completed"
    assert result["output"]["url"] == "https://example.com"

    handle = await flow.code_blocks.submit(
        code_block_id="cb-uuid-here",
        input_parameters={"url": "https://example.com"},
        ring_id="dev-ring-uuid",
    )
    execution_id = handle["execution_id"]
    result = await flow.code_blocks.await_result(
        execution_id,
        timeout_seconds=120,
    )
    assert result["execution_id"] == execution_id and result["status"] == "completed"

    output = await flow.code_blocks.run(
        code_block_id="cb-uuid-here",
        input_parameters={"text": "Analyze this."},
        result_mode="output",  # returns just the output, not the envelope
    )
    assert output["words"] == 2


async def test_seed_platform_client_durable_api(runtime_env: dict[str, str]) -> None:
    async with PlatformClient() as client:
        handle = await client.submit_code_block_execution(
            code_block_id=UUID("00000000-0000-0000-0000-00000000c0de"),
            input_parameters={"data": "value"},
            ring_id="dev-ring-uuid",
            timeout_seconds=300,
        )
        execution_id = handle["execution_id"]
        status = await client.get_execution_status(execution_id)
        assert status["status"] in ("pending", "running", "completed")
        result = await client.await_execution_result(
            execution_id,
            timeout_seconds=300,
            poll_interval_seconds=1.0,
        )
        assert result["output"]["data"] == "value"
        cancelled = await client.cancel_execution(execution_id)
        assert cancelled["status"] == "completed"
        result = await client.execute_code_block(
            code_block_id=UUID("00000000-0000-0000-0000-00000000c0de"),
            input_parameters={"text": "Process this."},
            context={"org_id": runtime_env["ORG_ID"], "workspace_id": runtime_env["WORKSPACE_ID"]},
            ring_id="dev-ring-uuid",
            timeout_seconds=120,
        )
        assert result["output"]["words"] == 2
        assert (await client.get_execution_status(result["execution_id"]))["context"][
            "workspace_id"
        ] == runtime_env["WORKSPACE_ID"]


async def test_failure_carries_the_remote_traceback(lp: LocalPlatform, flow: FlowSDK) -> None:
    source = "def helper(n):\n    raise ValueError(f'bad n={n}')\n\ndef main(n: int):\n    print('before')\n    return helper(n)\n"
    create_component(lp, "code_block", "cb-fails", {"source": source})
    with pytest.raises(PlatformExecutionError) as caught:
        await flow.code_blocks.run(code_block_id="cb-fails", input_parameters={"n": 7}, ring_id=lp.ring_id)
    text = str(caught.value)
    assert "ValueError" in text and "bad n=7" in text
    assert (
        "in helper" in caught.value.remote_traceback and "raise ValueError" in caught.value.remote_traceback
    )
    assert caught.value.result["stdout"] == "before\n"


async def test_missing_parameter_and_non_json_result_fail_clearly(lp: LocalPlatform, flow: FlowSDK) -> None:
    create_component(lp, "code_block", "cb-needs-x", {"source": "def main(x):\n    return object()\n"})
    with pytest.raises(PlatformExecutionError, match="no key 'x'"):
        await flow.code_blocks.run(code_block_id="cb-needs-x", input_parameters={}, ring_id=lp.ring_id)
    with pytest.raises(PlatformExecutionError, match="not JSON"):
        await flow.code_blocks.run(code_block_id="cb-needs-x", input_parameters={"x": 1}, ring_id=lp.ring_id)


async def test_timeout_kills_the_process(lp: LocalPlatform, flow: FlowSDK, side_dir: Path) -> None:
    source = "import os, time\n\ndef main(pidfile: str):\n    open(pidfile, 'w').write(str(os.getpid()))\n    time.sleep(30)\n"
    create_component(lp, "code_block", "cb-sleeps", {"source": source})
    pidfile = side_dir / "pid"
    handle = await flow.code_blocks.submit(
        code_block_id="cb-sleeps",
        input_parameters={"pidfile": str(pidfile)},
        ring_id=lp.ring_id,
        timeout_seconds=1,
    )
    result = await flow._platform().get_execution_result(handle["execution_id"], wait_seconds=10)
    assert result["status"] == "timeout"
    assert "timeout" in result["error"]["message"]
    await _assert_process_gone(int(pidfile.read_text()))


async def test_cancel_running_stops_the_worker(lp: LocalPlatform, flow: FlowSDK, side_dir: Path) -> None:
    source = "import os, time\n\ndef main(pidfile: str):\n    open(pidfile, 'w').write(str(os.getpid()))\n    time.sleep(30)\n"
    create_component(lp, "code_block", "cb-sleeps", {"source": source})
    pidfile = side_dir / "pid"
    handle = await flow.code_blocks.submit(
        code_block_id="cb-sleeps", input_parameters={"pidfile": str(pidfile)}, ring_id=lp.ring_id
    )
    await _wait_for(lambda: pidfile.exists() and pidfile.read_text() != "")
    assert (await flow.code_blocks.get_status(handle["execution_id"]))["status"] == "running"
    cancelled = await flow.code_blocks.cancel(handle["execution_id"])
    assert cancelled["status"] == "cancelled" and cancelled["cancel_requested"] is True
    await _assert_process_gone(int(pidfile.read_text()))
    with pytest.raises(PlatformExecutionError, match="cancelled"):
        await flow.code_blocks.await_result(handle["execution_id"], timeout_seconds=5)


async def test_cancel_pending_never_runs(lp: LocalPlatform, flow: FlowSDK, side_dir: Path) -> None:
    blocker = "import time\n\ndef main():\n    time.sleep(30)\n"
    marker = "def main(path: str):\n    open(path, 'w').write('ran')\n"
    create_component(lp, "code_block", "cb-blocker", {"source": blocker})
    create_component(lp, "code_block", "cb-marker", {"source": marker})
    blockers = [
        await flow.code_blocks.submit(code_block_id="cb-blocker", input_parameters={}, ring_id=lp.ring_id)
        for _ in range(3)
    ]
    for handle in blockers:
        await _wait_for_status(flow, handle["execution_id"], "running")
    path = side_dir / "ran"
    pending = await flow.code_blocks.submit(
        code_block_id="cb-marker", input_parameters={"path": str(path)}, ring_id=lp.ring_id
    )
    assert (await flow.code_blocks.get_status(pending["execution_id"]))["status"] == "pending"
    assert (await flow.code_blocks.cancel(pending["execution_id"]))["status"] == "cancelled"
    for handle in blockers:
        await flow.code_blocks.cancel(handle["execution_id"])
    probe = await flow.code_blocks.run(
        code_block_id="cb-uuid-here",
        input_parameters={"text": "a b"},
        ring_id=lp.ring_id,
        result_mode="output",
    )
    assert probe["words"] == 2
    assert not path.exists()
    assert (await flow.code_blocks.get_status(pending["execution_id"]))["status"] == "cancelled"


async def test_runtime_variables_and_billing_chain(lp: LocalPlatform, flow: FlowSDK) -> None:
    source = (
        "import os\n\nNAMES = ['ORG_ID', 'WORKSPACE_ID', 'AUTH_TOKEN', 'PLATFORM_API_URL', 'GATEWAY_URL', 'EXECUTION_ID',\n"
        "         'RING_ID', 'PARENT_BILLING_TXN_ID', 'LIFECYCLE_EVENT', 'NATS_URL']\n\n"
        "def main():\n    return {name: os.environ.get(name) for name in NAMES}\n"
    )
    create_component(lp, "code_block", "cb-env", {"source": source})
    nested = (
        "async def main(flow):\n"
        "    inner = await flow.code_blocks.run(code_block_id='cb-env', input_parameters={})\n"
        "    return {'inner': inner['execution_id'], 'env': inner['output']}\n"
    )
    create_component(lp, "code_block", "cb-nested", {"source": nested})
    result = await flow.code_blocks.run(code_block_id="cb-nested", input_parameters={}, ring_id=lp.ring_id)
    outer = await flow.code_blocks.get_status(result["execution_id"])
    inner = await flow.code_blocks.get_status(result["output"]["inner"])
    env = result["output"]["env"]
    assert inner["parent_billing_txn_id"] == outer["billing_txn_id"]
    assert env["PARENT_BILLING_TXN_ID"] == inner["billing_txn_id"]
    assert env["EXECUTION_ID"] == inner["execution_id"] and env["RING_ID"] == lp.ring_id
    assert env["ORG_ID"] == lp.org_id and env["WORKSPACE_ID"] == lp.workspace_id
    assert env["PLATFORM_API_URL"] == lp.url
    assert (
        env["NATS_URL"]
        == f"nats://execution:{env['AUTH_TOKEN']}@127.0.0.1:{env['NATS_URL'].rsplit(':', 1)[1]}"
    )
    claims = jwt.decode(env["AUTH_TOKEN"], options={"verify_signature": False})
    assert claims["token_type"] == "execution" and claims["workspace_id"] == lp.workspace_id


async def test_code_block_uses_flow_sdk_without_arguments(lp: LocalPlatform, flow: FlowSDK) -> None:
    source = """
import os
from flow_sdk import FlowSDK

async def main(name: str) -> dict:
    flow = FlowSDK()
    folder = f"workspaces/{os.environ['WORKSPACE_ID']}/greetings"
    token = flow.bind_request_context(service={"component_id": "cb-sdk"})
    try:
        await flow.state.set("greeted", name)
        greeted = await flow.state.get("greeted")
    finally:
        flow.reset_request_context(token)
    await flow.storage.upload(key=f"{folder}/{name}.txt", data=f"hello {name}".encode(), content_type="text/plain")
    stored = (await flow.storage.download(f"{folder}/{name}.txt")).decode()
    reply = await flow.gateway.chat_completion(model="offline/echo", messages=[{"role": "user", "content": name}])
    await flow.close()
    return {"greeted": greeted, "stored": stored, "reply": reply["choices"][0]["message"]["content"]}
"""
    create_component(lp, "code_block", "cb-sdk", {"source": source})
    output = await flow.code_blocks.run(
        code_block_id="cb-sdk", input_parameters={"name": "ada"}, ring_id=lp.ring_id, result_mode="output"
    )
    assert output["greeted"] == "ada" and output["stored"] == "hello ada" and "ada" in output["reply"]


async def test_flow_parameter_and_memory_limit(lp: LocalPlatform, flow: FlowSDK) -> None:
    source = "async def main(flow, key: str):\n    await flow.state.set(key, 42)\n    return await flow.state.get(key)\n"
    create_component(lp, "code_block", "cb-flow-param", {"source": source})
    assert (
        await flow.code_blocks.run(
            code_block_id="cb-flow-param",
            input_parameters={"key": "k"},
            ring_id=lp.ring_id,
            result_mode="output",
        )
        == 42
    )
    hog = "def main():\n    block = bytearray(512 * 1024 * 1024)\n    return len(block)\n"
    create_component(lp, "code_block", "cb-hog", {"source": hog, "memory_mb": 64})
    with pytest.raises(PlatformExecutionError, match="MemoryError"):
        await flow.code_blocks.run(code_block_id="cb-hog", input_parameters={}, ring_id=lp.ring_id)


async def test_events_follow_live(lp: LocalPlatform, flow: FlowSDK) -> None:
    create_component(lp, "code_block", "cb-events", {"source": PRINTS})
    handle = await flow.code_blocks.submit(
        code_block_id="cb-events", input_parameters={"count": 3}, ring_id=lp.ring_id
    )
    result = await flow._platform().get_execution_result(handle["execution_id"], wait_seconds=30)
    assert result["status"] == "failed"
    with api(lp) as client:
        events = client.get(f"/executions/{result['execution_id']}/events").json()
        assert [(e["event_type"], e["data"].get("stream")) for e in events] == [
            ("message", "stdout"),
            ("message", "stderr"),
            ("error", None),
        ]
        later = client.get(
            f"/executions/{result['execution_id']}/events", params={"after_seq": events[1]["seq"]}
        ).json()
        assert [e["seq"] for e in later] == [e["seq"] for e in events[2:]]
        started = time.monotonic()
        empty = client.get(
            f"/executions/{result['execution_id']}/events",
            params={"after_seq": events[-1]["seq"], "wait_seconds": 5},
        ).json()
        assert empty == [] and time.monotonic() - started < 2


async def test_idempotency_ring_and_component_checks(lp: LocalPlatform, flow: FlowSDK) -> None:
    body = {
        "component_type": "code_block",
        "component_id": "cb-uuid-here",
        "input": {"text": "x"},
        "ring_id": lp.ring_id,
    }
    key = {
        "Idempotency-Key": f"key-{uuid.uuid4()}",
        "X-Parent-Billing-Txn-Id": "btx_parent",
        "X-Lifecycle-Event": "test",
    }
    with api(lp) as client:
        first = client.post("/executions", json=body, headers=key)
        second = client.post("/executions", json=body, headers=key)
        assert first.status_code == second.status_code == 202
        assert first.json()["execution_id"] == second.json()["execution_id"]
        record = client.get(f"/executions/{first.json()['execution_id']}").json()
        assert record["parent_billing_txn_id"] == "btx_parent" and record["billing_txn_id"].startswith("btx_")
        listed = client.get("/executions", params={"limit": 500}).json()
        assert sum(1 for e in listed if e["execution_id"] == record["execution_id"]) == 1
        missing_ring = client.post("/executions", json={**body, "ring_id": "no-such-ring"})
        assert missing_ring.status_code == 404 and "ring" in missing_ring.json()["detail"]
    with pytest.raises(PlatformNotFoundError):
        await flow.code_blocks.submit(
            code_block_id="nonexistent-uuid", input_parameters={}, ring_id=lp.ring_id
        )


async def _wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def _wait_for_status(flow: FlowSDK, execution_id: str, status: str) -> None:
    deadline = time.monotonic() + 10
    while (await flow.code_blocks.get_status(execution_id))["status"] != status:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def _assert_process_gone(pid: int) -> None:
    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"

    await _wait_for(gone, 5.0)
