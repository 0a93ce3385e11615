"""Fixtures for the ``flow`` command tests: one real local platform (a ``flow local serve`` process) per
session, a private config directory per test, and a helper that runs ``flow`` as a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from flow_local.harness import LocalPlatform

# Variables of the developer's shell that would change what `flow` does; every test starts without them.
CLEARED_VARIABLES = (
    "PLATFORM_API_URL",
    "AUTH_TOKEN",
    "ORG_ID",
    "WORKSPACE_ID",
    "RING_ID",
    "FLOW_API_KEY",
    "FLOW_PROFILE",
    "FLOW_CONFIG_DIR",
    "GATEWAY_URL",
    "SERVICE_ID",
)


@dataclass
class FlowRunner:
    """Runs ``python -m flow_sdk.cli`` with a private config dir and a clean environment."""

    config_dir: Path
    env: dict[str, str]

    def __call__(
        self, *args: str, input: str | None = None, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``flow *args`` and return the finished process (stdout/stderr as text)."""
        return subprocess.run(
            [sys.executable, "-m", "flow_sdk.cli", *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )

    @property
    def config_file(self) -> Path:
        """The config file ``flow login`` writes."""
        return self.config_dir / "config.json"


@pytest.fixture(scope="session")
def platform() -> Iterator[LocalPlatform]:
    """A local platform served by its own process (as `flow local serve` runs it) for the whole session."""
    lp = LocalPlatform(subprocess=True).start()
    try:
        yield lp
    finally:
        lp.stop()


@pytest.fixture
def flow(tmp_path: Path) -> FlowRunner:
    """A ``flow`` runner whose config lives in this test's temporary directory."""
    env = {key: value for key, value in os.environ.items() if key not in CLEARED_VARIABLES}
    config_dir = tmp_path / "flow-config"
    env.update(FLOW_CONFIG_DIR=str(config_dir), COLUMNS="200", NO_COLOR="1", PYTHONUNBUFFERED="1")
    return FlowRunner(config_dir=config_dir, env=env)


@pytest.fixture(scope="session")
def login_config(platform: LocalPlatform, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config file written once per session by `flow login --api-key` (copied into each test)."""
    env = {key: value for key, value in os.environ.items() if key not in CLEARED_VARIABLES}
    runner = FlowRunner(config_dir=tmp_path_factory.mktemp("login") / "flow-config", env=env)
    runner.env["FLOW_CONFIG_DIR"] = str(runner.config_dir)
    result = runner("login", "--url", platform.url, "--api-key", platform.api_key)
    assert result.returncode == 0, result.stderr
    return runner.config_file


@pytest.fixture
def logged_in(flow: FlowRunner, login_config: Path) -> FlowRunner:
    """A runner already logged in to the platform with its dev API key."""
    flow.config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copy2(login_config, flow.config_file)
    return flow


def workspace_api(platform: LocalPlatform) -> httpx.Client:
    """An admin HTTP client on the default workspace (to arrange data and probe capabilities)."""
    base = f"{platform.url}/api/v1/orgs/{platform.org_id}/workspaces/{platform.workspace_id}"
    return httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {platform.admin_token}"}, timeout=30
    )


def route_exists(platform: LocalPlatform, method: str, path: str) -> bool:
    """True when the platform routes ``method path`` (any answer but its "no route" 404/405)."""
    with httpx.Client(base_url=platform.url, timeout=10) as client:
        response = client.request(
            method,
            path,
            headers={"Authorization": f"Bearer {platform.admin_token}"},
            json={} if method != "GET" else None,
        )
    if response.status_code == 405:
        return False
    if response.status_code != 404:
        return True
    detail = str(response.json().get("detail", ""))
    return not detail.startswith("no route for")
