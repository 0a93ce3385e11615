"""Durability: write through the API, SIGKILL the server process, restart on the same data dir, read it all back."""

from __future__ import annotations

import tempfile

import httpx
import pytest

from flow_local.harness import LocalPlatform


@pytest.mark.slow
def test_acknowledged_writes_survive_sigkill() -> None:
    data_dir = tempfile.mkdtemp(prefix="flow-durable-")
    first = LocalPlatform(data_dir, subprocess=True).start()
    ws = f"/api/v1/orgs/{first.org_id}/workspaces/{first.workspace_id}"
    headers = {"Authorization": f"Bearer {first.admin_token}"}
    with httpx.Client(base_url=first.url, headers=headers) as c:
        component = c.post(
            f"{ws}/components/code_block", json={"id": "cb", "name": "cb", "spec": {"source": "x"}}
        ).json()
        for i in range(50):
            assert c.put(f"{ws}/state/cb/keys/k{i}", json={"value": i}).status_code == 200
        c.put(f"{ws}/secrets/TOKEN", json={"value": "s3cret"})
        c.put(f"/api/v1/orgs/{first.org_id}/storage/objects/a/b.bin", content=b"\x00\x01payload")
        index = c.post(f"{ws}/vector/indexes", json={"name": "i", "dimensions": 3}).json()
        c.post(
            f"{ws}/vector/indexes/{index['id']}/upsert", json={"vectors": [{"id": "v1", "values": [1, 0, 0]}]}
        )
        c.post(f"{ws}/audit/events", json={"action": "a", "resource_type": "t", "resource_id": "r"})
    first.kill()

    second = LocalPlatform(data_dir, subprocess=True).start()
    try:
        assert (second.org_id, second.workspace_id, second.api_key) == (
            first.org_id,
            first.workspace_id,
            first.api_key,
        )
        with httpx.Client(
            base_url=second.url, headers={"Authorization": f"Bearer {second.admin_token}"}
        ) as c:
            assert c.get(f"{ws}/components/code_block/cb").json()["spec"] == component["spec"]
            assert [c.get(f"{ws}/state/cb/keys/k{i}").json()["value"] for i in range(50)] == list(range(50))
            assert c.get(f"{ws}/secrets/TOKEN").json()["value"] == "s3cret"
            assert c.get(f"/api/v1/orgs/{first.org_id}/storage/objects/a/b.bin").content == b"\x00\x01payload"
            hits = c.post(
                f"{ws}/vector/indexes/{index['id']}/search", json={"query_embedding": [1, 0, 0]}
            ).json()
            assert hits["matches"][0]["id"] == "v1"
            assert c.get(f"{ws}/audit/events").json()[0]["action"] == "a"
            token = c.post("/api/v1/auth/token", json={"api_key": first.api_key}).json()["access_token"]
            assert token
    finally:
        second.stop()
