"""The default workspace of a platform, as a user of any of its replicas sees it (tests and benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from flow_sdk import CLIClient, FlowSDK


@dataclass(frozen=True)
class Workspace:
    """The default org's workspace and an admin token valid on every replica (they share the key)."""

    org_id: str
    workspace_id: str
    ring_id: str
    token: str

    def sdk(self, url: str) -> FlowSDK:
        """A FlowSDK talking to the replica at ``url``."""
        return FlowSDK(
            platform_url=url,
            auth_token=self.token,
            org_id=self.org_id,
            workspace_id=self.workspace_id,
            ring_id=self.ring_id,
        )

    def http(self, url: str) -> httpx.Client:
        """An HTTP client on the workspace's API at ``url``."""
        base = f"{url}/api/v1/orgs/{self.org_id}/workspaces/{self.workspace_id}"
        return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def create_code_block(self, url: str, component_id: str, source: str) -> dict[str, Any]:
        """Register a code block with a chosen id."""
        with self.http(url) as client:
            body = {"id": component_id, "name": component_id, "spec": {"source": source}}
            response = client.post("/components/code_block", json=body)
            response.raise_for_status()
            return dict(response.json())


def default_workspace(url: str, api_key: str) -> Workspace:
    """The default org, workspace and ring of a platform, with a token from its dev API key."""
    token = CLIClient.exchange_api_key(url, api_key, ttl_minutes=120)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        org_id = client.get("/api/v1/tenants/orgs").json()[0]["id"]
        workspace_id = client.get(f"/api/v1/tenants/orgs/{org_id}/workspaces").json()[0]["id"]
        rings = client.get(f"/api/v1/orgs/{org_id}/workspaces/{workspace_id}/resources/ring").json()
    items = rings["items"] if isinstance(rings, dict) else rings
    return Workspace(org_id, workspace_id, str(items[0]["id"]), token)
