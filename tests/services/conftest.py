"""One local platform with the two example services deployed, shared by every test in this folder.

``profile`` is deployed twice (versions 1 and 2, same code) and ``frontdoor`` once; the platform and
the three service processes are real, started once per test session.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from flow_local import LocalPlatform
from flow_sdk import CLIClient, FlowConfig, FlowSDK

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROFILE = "profile"
FRONTDOOR = "frontdoor"


@dataclass
class Deployment:
    """The running platform, a CLIClient for it, and helpers to get tokens and call services."""

    lp: LocalPlatform
    cli: CLIClient

    @property
    def org_id(self) -> str:
        return self.lp.org_id

    def service_url(self, service_id: str, path: str, version: int | None = None) -> str:
        pinned = f"v{version}/" if version is not None else ""
        return f"{self.lp.url}/api/v1/orgs/{self.org_id}/services/{service_id}/{pinned}{path.lstrip('/')}"

    def user_token(self, subject: str) -> str:
        """A user token of the default org for ``subject``."""
        assert self.lp.platform is not None
        return self.lp.platform.tokens.mint_user_token(subject, self.org_id, self.lp.workspace_id)

    def mint(self, subject: str, claims: dict[str, Any], service_id: str) -> str:
        """A service token minted through the API by user ``subject`` for ``service_id``."""
        response = httpx.post(
            f"{self.lp.url}/api/v1/orgs/{self.org_id}/service-tokens",
            json={"claims": claims, "ttl_minutes": 5, "service_id": service_id},
            headers={"Authorization": f"Bearer {self.user_token(subject)}"},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["token"])

    def flow(self, token: str | None = None) -> FlowSDK:
        """A FlowSDK for the default workspace (admin token unless ``token``)."""
        return FlowSDK(
            org_id=self.org_id,
            workspace_id=self.lp.workspace_id,
            auth_token=token or self.lp.admin_token,
            platform_url=self.lp.url,
        )


@pytest.fixture(scope="session")
def deployment() -> Iterator[Deployment]:
    """Start the platform and deploy profile v1, profile v2 and frontdoor v1 (in parallel)."""
    with LocalPlatform() as lp:
        config = FlowConfig(
            platform_url=lp.url, access_token=lp.admin_token, org_id=lp.org_id, workspace_id=lp.workspace_id
        )
        cli = CLIClient(config)
        started = time.monotonic()
        with ThreadPoolExecutor(3) as pool:
            profile = str(EXAMPLES / "profile_service")
            frontdoor = str(EXAMPLES / "frontdoor_service")
            jobs = [
                pool.submit(cli.hosted_services.deploy, PROFILE, "main:app", source_dir=profile),
                pool.submit(cli.hosted_services.deploy, PROFILE, "main:app", source_dir=profile),
                pool.submit(
                    cli.hosted_services.deploy,
                    FRONTDOOR,
                    "main:app",
                    source_dir=frontdoor,
                    env={"PROFILE_SERVICE_ID": PROFILE},
                ),
            ]
            for job in jobs:
                assert job.result()["status"] == "running"
        print(f"deployed 3 service versions in {time.monotonic() - started:.1f} s")
        yield Deployment(lp, cli)
