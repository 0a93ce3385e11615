"""Large execution inputs and outputs travel by reference (claim check), up to the documented limit.

The platform runs as its own process so its peak resident memory (``VmHWM``) can be read; the client's
is this process's. The figures are printed (``-s``), never timed or compared with a fixed number.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import nats
import pytest

from flow_local.harness import LocalPlatform
from flow_local.runtime.payloads import PAYLOAD_LIMIT_BYTES, PAYLOADS_STREAM
from flow_sdk import FlowSDK

MEGABYTE = 1024 * 1024
ECHO = "def main(blob: str) -> dict:\n    return {'size': len(blob), 'reversed': blob[::-1]}\n"


def _reset_peak(pid: str) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _peak_of(pid: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _blob(size: int) -> str:
    """``size`` characters that are not all alike (so a reversed copy differs from the original)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return (alphabet * (size // len(alphabet) + 1))[:size]


async def _run_echo(lp: LocalPlatform, blob: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    for name, value in lp.env().items():
        monkeypatch.setenv(name, value)
    async with FlowSDK() as flow:
        result = await flow.code_blocks.run(code_block_id="echo", input_parameters={"blob": blob})
    return dict(result)


async def _payload_bytes(lp: LocalPlatform) -> int:
    """Bytes still held by the payload bucket (chunks of objects nobody deleted)."""
    credentials = json.loads((lp.data_dir / "nats" / "credentials.json").read_text())
    port = (lp.data_dir / "nats" / "port").read_text().strip()
    nc = await nats.connect(f"nats://platform:{credentials['platform']}@127.0.0.1:{port}")
    try:
        info = await nc.jetstream().stream_info(PAYLOADS_STREAM)
        return int(info.state.bytes)
    finally:
        await nc.close()


def test_a_5_mib_input_and_output_round_trip_and_the_platform_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    blob = _blob(5 * MEGABYTE)
    with LocalPlatform(data_dir, subprocess=True) as lp:
        ws = f"/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
        headers = {"Authorization": f"Bearer {lp.admin_token}"}
        with httpx.Client(base_url=lp.url, headers=headers, timeout=120) as client:
            spec = {"id": "echo", "name": "echo", "spec": {"source": ECHO}}
            assert client.post(f"{ws}/components/code_block", json=spec).status_code == 201
            assert lp.process is not None
            server_pid = str(lp.process.pid)
            _reset_peak(server_pid)
            _reset_peak("self")
            server_before, client_before = _peak_of(server_pid), _peak_of("self")
            result = asyncio.run(_run_echo(lp, blob, monkeypatch))
            server_after, client_after = _peak_of(server_pid), _peak_of("self")
            print(
                f"\n5 MiB in, 5 MiB out by reference: server peak RSS {server_before / MEGABYTE:.0f} -> "
                f"{server_after / MEGABYTE:.0f} MiB, client {client_before / MEGABYTE:.0f} -> "
                f"{client_after / MEGABYTE:.0f} MiB"
            )
            assert result["status"] == "completed", result
            output = result["output"]
            assert isinstance(output, dict)
            assert output["size"] == len(blob) and output["reversed"] == blob[::-1]
            assert asyncio.run(_payload_bytes(lp)) < 64 * 1024, "the payload objects were not deleted"

            listed = len(client.get(f"{ws}/executions").json())
            too_big = {
                "component_type": "code_block",
                "component_id": "echo",
                "ring_id": lp.ring_id,
                "input": {"blob": "x" * (PAYLOAD_LIMIT_BYTES + 1)},
            }
            response = client.post(
                f"{ws}/executions", content=json.dumps(too_big), headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 413 and response.json()["code"] == "too_large", response.text
            assert len(client.get(f"{ws}/executions").json()) == listed
            execution_id = result["execution_id"]

    with (
        LocalPlatform(data_dir, subprocess=True) as again,
        httpx.Client(base_url=again.url, headers=headers, timeout=120) as client,
    ):
        stored = client.get(f"{ws}/executions/{execution_id}/result").json()
        assert stored["status"] == "completed" and stored["output"]["size"] == len(blob)
        small = asyncio.run(_run_echo(again, "abc", monkeypatch))
        assert small["status"] == "completed" and small["output"] == {"size": 3, "reversed": "cba"}


def test_an_input_over_the_payload_limit_gets_413_naming_the_limit(tmp_path: Path) -> None:
    """With a request body limit above the payload limit, the input check itself answers 413."""
    with (
        LocalPlatform(tmp_path / "data", max_request_bytes=PAYLOAD_LIMIT_BYTES + 2 * MEGABYTE) as lp,
        httpx.Client(base_url=lp.url, headers={"Authorization": f"Bearer {lp.admin_token}"}) as client,
    ):
        ws = f"/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
        client.post(
            f"{ws}/components/code_block", json={"id": "echo", "name": "echo", "spec": {"source": ECHO}}
        )
        body = {
            "component_type": "code_block",
            "component_id": "echo",
            "ring_id": lp.ring_id,
            "input": {"blob": "x" * (PAYLOAD_LIMIT_BYTES + 1)},
        }
        response = client.post(f"{ws}/executions", json=body, timeout=60)
        assert response.status_code == 413, response.text
        assert (
            response.json()["code"] == "too_large" and str(PAYLOAD_LIMIT_BYTES) in response.json()["detail"]
        )
        assert client.get(f"{ws}/executions").json() == []
