"""CLIClient resource namespaces list a resource's saved versions, against the session's real local platform."""

from __future__ import annotations

import pytest

from flow_local.harness import LocalPlatform
from flow_sdk._errors import CLIClientError
from flow_sdk.cli_client import CLIClient
from flow_sdk.config import FlowConfig


@pytest.fixture
def cli(platform: LocalPlatform) -> CLIClient:
    """A CLIClient logged in as the platform's admin."""
    return CLIClient(FlowConfig(platform.url, platform.admin_token, platform.org_id, platform.workspace_id))


def test_versions_of_a_resource_oldest_first(cli: CLIClient) -> None:
    cli.solutions.create({"id": "versioned-solution", "name": "first", "spec": {"step": 1}})
    cli.solutions.update("versioned-solution", {"name": "second", "spec": {"step": 2}})
    cli.solutions.update("versioned-solution", {"description": "third", "spec": {"step": 3}})

    versions = cli.solutions.versions("versioned-solution")

    assert [v["version"] for v in versions] == [1, 2, 3]
    assert [v["name"] for v in versions] == ["first", "second", "second"]
    assert [v["spec"] for v in versions] == [{"step": 1}, {"step": 2}, {"step": 3}]
    assert versions[2]["description"] == "third"
    assert {v["resource_id"] for v in versions} == {"versioned-solution"}
    assert {v["kind"] for v in versions} == {"solution"}
    assert cli.solutions.get("versioned-solution")["version"] == 3


def test_versions_are_per_kind_and_missing_ones_are_404(cli: CLIClient) -> None:
    cli.rings.create({"id": "versioned-ring", "name": "ring"})
    assert [v["version"] for v in cli.rings.versions("versioned-ring")] == [1]
    with pytest.raises(CLIClientError) as caught:
        cli.solutions.versions("versioned-ring")
    assert caught.value.status_code == 404
    assert "versioned-ring" in str(caught.value.detail)
