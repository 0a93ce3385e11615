"""Fixtures for the attack suite: one real local platform (NATS, runners, SQLite) per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flow_local.harness import LocalPlatform


@pytest.fixture(scope="module")
def lp() -> Iterator[LocalPlatform]:
    """A platform with two warm workers; its code blocks get no extra writable directory."""
    previous = {name: os.environ.pop(name, None) for name in ("FLOW_LOCAL_RUNNER_WRITABLE",)}
    os.environ["FLOW_LOCAL_RUNNER_WORKERS"] = "2"
    platform = LocalPlatform().start()
    os.environ.pop("FLOW_LOCAL_RUNNER_WORKERS", None)
    try:
        yield platform
    finally:
        platform.stop()
        for name, value in previous.items():
            if value is not None:
                os.environ[name] = value


def workspace_api(lp: LocalPlatform, token: str | None = None) -> httpx.Client:
    """An HTTP client on the default workspace (the admin's token unless one is given)."""
    base = f"{lp.url}/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
    headers = {"Authorization": f"Bearer {token or lp.admin_token}"}
    return httpx.Client(base_url=base, headers=headers, timeout=60)


def run_code(lp: LocalPlatform, source: str, inputs: dict[str, Any], name: str) -> dict[str, Any]:
    """Create a code block and run it to its end; return the result envelope."""
    with workspace_api(lp) as client:
        client.delete(f"/components/code_block/{name}")
        created = client.post(
            "/components/code_block", json={"id": name, "name": name, "spec": {"source": source}}
        )
        assert created.status_code == 201, created.text
        submitted = client.post(
            "/executions",
            json={
                "component_type": "code_block",
                "component_id": name,
                "input": inputs,
                "ring_id": lp.ring_id,
            },
        )
        assert submitted.status_code == 202, submitted.text
        execution_id = submitted.json()["execution_id"]
        result = client.get(f"/executions/{execution_id}/result", params={"wait_seconds": 60}).json()
        assert result["status"] in ("completed", "failed"), result
        return dict(result)


ESCAPE = """
import os, time

def main(wait: float) -> int:
    read, write = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(write, str(os.getpid()).encode())
            time.sleep(600)
            os._exit(0)
        os._exit(0)
    os.close(write)
    pid = int(os.read(read, 32))
    print(f"escaped {pid}", flush=True)
    time.sleep(wait)
    return pid
"""
"""A code block whose grandchild escapes into its own session and sleeps; returns the grandchild's pid."""


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
