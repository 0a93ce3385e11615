"""The platform on an external three-node NATS cluster with credentials, and runners joining it with ``flow runner``."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import pytest
from nats.errors import Error as NatsError

from flow_local.cluster.topology import Topology, flow_command
from flow_local.cluster.workspace import Workspace, default_workspace
from flow_local.runtime.nats_server import PLATFORM_USER, RUNNER_USER
from flow_sdk._generated.types import ExecutionHandle, ExecutionResult
from flow_sdk.runtime_contract import DISPATCH_STREAM, OUTPUT_STREAM, STREAM_SUBJECTS, dispatch_subject

ENV_PROBE = """import os

def main(n: int):
    return {"double": n * 2, "nats_url": os.environ.get("NATS_URL", ""), "names": sorted(os.environ),
            "values": "".join(os.environ.values())}
"""


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """One API replica on PostgreSQL, SeaweedFS and the NATS cluster; no runner yet."""
    with Topology(tmp_path_factory.mktemp("remote"), replicas=1, runners=0, workers=1) as started:
        yield started


@pytest.fixture(scope="module")
def workspace(topology: Topology) -> Workspace:
    """The default workspace."""
    return default_workspace(topology.replicas[0].url, topology.api_key)


def _children_commands(pid: int) -> list[str]:
    """The command lines of a process's children."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue
    return found


async def _stream_replicas(topology: Topology) -> dict[str, int]:
    client = await nats.connect(topology.nats.user_urls(PLATFORM_USER))
    try:
        js = client.jetstream()
        found = {}
        for name in STREAM_SUBJECTS:
            info = await js.stream_info(name)
            peers = len(info.cluster.replicas or []) if info.cluster is not None else 0
            found[name] = min(int(info.config.num_replicas or 1), 1 + peers)
        return found
    finally:
        await client.close()


async def _submit(workspace: Workspace, url: str) -> ExecutionHandle:
    async with workspace.sdk(url) as flow:
        return await flow.code_blocks.submit("cb-env", {"n": 21})


async def _await(workspace: Workspace, url: str, execution_id: str) -> ExecutionResult:
    async with workspace.sdk(url) as flow:
        return await flow.code_blocks.await_result(execution_id, timeout_seconds=60)


def test_an_execution_waits_for_a_remote_runner_and_runs_there_without_credentials(
    topology: Topology, workspace: Workspace
) -> None:
    url = topology.replicas[0].url
    workspace.create_code_block(url, "cb-env", ENV_PROBE)
    handle = asyncio.run(_submit(workspace, url))
    with workspace.http(url) as client:
        early = client.get(f"/executions/{handle['execution_id']}/result", params={"wait_seconds": 2}).json()
    assert early["status"] == "pending"
    assert not any(
        "runner" in command for command in _children_commands(topology.replicas[0].processes[0].pid)
    )

    topology.add_runner()
    result = asyncio.run(_await(workspace, url, handle["execution_id"]))
    assert result["status"] == "completed", result
    output = result["output"]
    assert output["double"] == 42
    assert output["nats_url"] == topology.nats.url
    assert "FLOW_NATS_PASSWORD" not in output["names"] and "FLOW_NATS_USER" not in output["names"]
    assert all(password not in output["values"] for password in topology.nats.credentials.values())
    assert asyncio.run(_stream_replicas(topology)) == dict.fromkeys(STREAM_SUBJECTS, 3)


async def _runner_attempts(topology: Topology) -> list[str]:
    errors: list[str] = []

    async def collect(exc: Exception) -> None:
        errors.append(str(exc))

    client = await nats.connect(topology.nats.user_urls(RUNNER_USER), error_cb=collect)
    try:
        js = client.jetstream(timeout=1.0)
        with pytest.raises((NatsError, asyncio.TimeoutError)):
            await js.publish(dispatch_subject("forged"), b"{}")
        with pytest.raises((NatsError, asyncio.TimeoutError)):
            await js.delete_stream(OUTPUT_STREAM)
        await client.subscribe(STREAM_SUBJECTS[OUTPUT_STREAM])
        await client.flush()
        await asyncio.sleep(0.5)
        info = await js.stream_info(DISPATCH_STREAM)
        assert info.config.name == DISPATCH_STREAM
        return errors
    finally:
        await client.close()


def test_the_runner_user_reaches_only_the_runner_subjects(topology: Topology, workspace: Workspace) -> None:
    errors = asyncio.run(_runner_attempts(topology))
    violations = [error for error in errors if "permissions violation" in error.lower()]
    assert any("publish" in v.lower() and "exec.dispatch" in v for v in violations), errors
    assert any("subscription" in v.lower() and "exec.output" in v for v in violations), errors
    assert asyncio.run(_stream_replicas(topology))[OUTPUT_STREAM] == 3


async def _connect_with(urls: list[str]) -> None:
    client = await nats.connect(urls, allow_reconnect=False, connect_timeout=2, max_reconnect_attempts=0)
    await client.close()


def test_a_wrong_password_is_refused_by_the_cluster(topology: Topology) -> None:
    wrong = [url.replace("://", "://runner:not-the-password@", 1) for url in topology.nats.urls]
    with pytest.raises(Exception, match=r"(?i)authorization"):
        asyncio.run(_connect_with(wrong))


def test_flow_runner_refuses_a_malformed_cluster_url(topology: Topology, tmp_path: Path) -> None:
    done = subprocess.run(
        [flow_command(), "runner", "--nats", "http://a:1", "--user", "runner"],
        capture_output=True,
        text=True,
        env=topology.runner_environment(),
        timeout=60,
    )
    assert done.returncode == 2
    assert "is not a NATS server URL" in done.stderr
    assert httpx.get(f"{topology.replicas[0].url}/api/v1/health").status_code == 200
