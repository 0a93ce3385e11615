"""The platform starts whatever its data directory holds: records that cannot run are failed with a reason."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import httpx

from flow_local.harness import LocalPlatform

MEGABYTE = 1024 * 1024


def test_records_that_cannot_be_dispatched_are_failed_and_the_platform_starts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    os.environ["FLOW_LOCAL_RUNNER_WORKERS"] = "0"
    try:
        first = LocalPlatform(data_dir).start()
    finally:
        os.environ.pop("FLOW_LOCAL_RUNNER_WORKERS", None)
    base = f"/api/v1/orgs/{first.org_id}/workspaces/{first.workspace_id}"
    headers = {"Authorization": f"Bearer {first.admin_token}"}
    with httpx.Client(base_url=first.url, headers=headers, timeout=30) as client:
        client.post(
            f"{base}/components/code_block",
            json={"id": "cb", "name": "cb", "spec": {"source": "def main():\n    return 1\n"}},
        )
        body = {"component_type": "code_block", "component_id": "cb", "ring_id": first.ring_id, "input": {}}
        oversized, orphaned = (
            client.post(f"{base}/executions", json=body).json()["execution_id"] for _ in range(2)
        )
    first.stop()

    with sqlite3.connect(data_dir / "platform.db") as db:
        db.execute(
            "UPDATE executions SET input=?, dispatched=0 WHERE execution_id=?",
            (json.dumps({"blob": "x" * (17 * MEGABYTE)}), oversized),
        )
        db.execute(
            "UPDATE executions SET component_id='gone', dispatched=0 WHERE execution_id=?", (orphaned,)
        )

    second = LocalPlatform(data_dir).start()
    try:
        with httpx.Client(base_url=second.url, headers=headers, timeout=30) as client:
            big = client.get(f"{base}/executions/{oversized}/result").json()
            gone = client.get(f"{base}/executions/{orphaned}/result").json()
            assert client.get("/api/v1/health").status_code == 200
    finally:
        second.stop()
    assert big["status"] == "failed" and "over the limit" in big["error"]["message"], big
    assert gone["status"] == "failed" and "could not be recovered" in gone["error"]["message"], gone
