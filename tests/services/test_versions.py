"""Numbered versions: pinning, latest, listing, health, logs, undeploy, and deploy errors."""

from __future__ import annotations

import httpx
import pytest

from flow_sdk import CLIClientError, FlowSDKError

from .conftest import EXAMPLES, PROFILE, Deployment


def version_of(deployment: Deployment, version: int | None) -> httpx.Response:
    return httpx.get(
        deployment.service_url(PROFILE, "/whoami", version),
        headers={"Authorization": f"Bearer {deployment.user_token('ivy')}"},
        timeout=10,
    )


def test_each_version_is_reachable_and_unpinned_goes_to_latest(deployment: Deployment) -> None:
    assert version_of(deployment, 1).json()["version"] == 1
    assert version_of(deployment, 2).json()["version"] == 2
    assert version_of(deployment, None).json()["version"] == 2
    assert version_of(deployment, 9).status_code == 404


def test_versions_health_and_logs(deployment: Deployment) -> None:
    versions = deployment.cli.hosted_services.versions(PROFILE)
    assert [v["version"] for v in versions][:2] == [1, 2]
    assert versions[0]["url"].endswith(f"/services/{PROFILE}/v1")
    health = deployment.cli.hosted_services.health(PROFILE)
    assert {"version": 1, "status": "running", "healthy": True} in health["versions"]
    logs = deployment.cli.hosted_services.logs(PROFILE, version=1)
    assert any("Uvicorn running" in line or "Application startup complete" in line for line in logs["lines"])


def test_deploy_from_files_then_undeploy(deployment: Deployment) -> None:
    source = (EXAMPLES / "profile_service" / "main.py").read_text()
    created = deployment.cli.hosted_services.deploy("scratch", "main:app", files={"main.py": source})
    assert created["version"] == 1 and created["status"] == "running"
    assert deployment.cli.invoke_service("scratch", "GET", "/whoami")["service_id"] == "scratch"
    deployment.cli.hosted_services.undeploy("scratch", 1)
    assert deployment.cli.hosted_services.versions("scratch")[0]["status"] == "stopped"
    with pytest.raises(CLIClientError) as caught:
        deployment.cli.invoke_service("scratch", "GET", "/whoami")
    assert caught.value.status_code == 404


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"files": {"../evil.py": "x"}}, "files"),
        ({"files": {"other.py": "x = 1"}}, "app"),
        ({"source_dir": "/no/such/dir"}, "source_dir"),
        ({}, "files"),
    ],
)
def test_bad_deploys_are_400_naming_the_field(deployment: Deployment, kwargs: dict, field: str) -> None:
    with pytest.raises(FlowSDKError) as caught:
        deployment.cli.hosted_services.deploy("broken", "main:app", **kwargs)
    assert caught.value.status_code == 400
    assert field in str(caught.value.detail)


def test_app_that_crashes_at_import_fails_with_its_log(deployment: Deployment) -> None:
    with pytest.raises(FlowSDKError) as caught:
        deployment.cli.hosted_services.deploy(
            "crashy", "main:app", files={"main.py": "raise RuntimeError('boom')\n"}
        )
    assert caught.value.status_code == 400
    assert "boom" in str(caught.value.detail)
    assert deployment.cli.hosted_services.versions("crashy")[-1]["status"] == "failed"
