"""End-to-end fixtures: one real local platform per test module, and FlowSDK() configured from its env.

Nothing here is mocked: the platform serves HTTP on a loopback port with its SQLite database, object
files, NATS server and execution runners; the SDK reaches it exactly as it reaches the hosted platform.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from flow_local.harness import LocalPlatform
from flow_sdk import CLIClient, FlowConfig, FlowSDK
from flow_sdk.sync_flow_sdk import SyncFlowSDK

RUNNER_WORKERS = "2"
UPSTREAM_VARIABLES = ("FLOW_UPSTREAM_BASE_URL", "FLOW_UPSTREAM_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY")


@pytest.fixture(scope="module")
def lp() -> Iterator[LocalPlatform]:
    """A local platform (thread mode, temporary data dir, no model upstream) shared by a test module."""
    with pytest.MonkeyPatch.context() as patch:
        for name in UPSTREAM_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv("FLOW_LOCAL_RUNNER_WORKERS", RUNNER_WORKERS)
        platform = LocalPlatform().start()
    try:
        yield platform
    finally:
        platform.stop()


@pytest.fixture
def runtime_env(lp: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Export the platform's runtime variables, as the platform does for code running on it."""
    env = lp.env()
    for name in (
        "SERVICE_ID",
        "EXECUTION_ID",
        "JOB_ID",
        "REQUEST_ID",
        "PARENT_BILLING_TXN_ID",
        "LIFECYCLE_EVENT",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
async def flow(runtime_env: dict[str, str]) -> AsyncIterator[FlowSDK]:
    """``FlowSDK()`` with no arguments, configured from the runtime variables."""
    sdk = FlowSDK()
    yield sdk
    await sdk.close()


@pytest.fixture
def sync_flow(runtime_env: dict[str, str]) -> Iterator[SyncFlowSDK]:
    """``SyncFlowSDK()`` configured from the runtime variables."""
    with SyncFlowSDK() as flow:
        yield flow


@pytest.fixture
def cli(lp: LocalPlatform) -> Iterator[CLIClient]:
    """A CLIClient of the module's workspace, with the admin (user) token."""
    config = FlowConfig(
        platform_url=lp.url, access_token=lp.admin_token, org_id=lp.org_id, workspace_id=lp.workspace_id
    )
    with CLIClient(config) as client:
        yield client


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> Callable[[type, str], list[dict[str, Any]]]:
    """Count the calls a backend operation answers: ``answered(Backend, "list_x")`` gives their arguments."""

    def watch(backend: type, operation: str) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = []
        original: Callable[..., Awaitable[Any]] = getattr(backend, operation)

        async def counted(self: Any, call: Any, **arguments: Any) -> Any:
            calls.append(arguments)
            return await original(self, call, **arguments)

        monkeypatch.setattr(backend, operation, counted)
        return calls

    return watch


@pytest.fixture
def admin(lp: LocalPlatform) -> Iterator[httpx.Client]:
    """A management-API client for the default workspace, authenticated with the admin (user) token."""
    base = f"{lp.url}/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
    headers = {"Authorization": f"Bearer {lp.admin_token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        yield client


def created(response: httpx.Response) -> Any:
    """The JSON body of a successful management call (fails the test with the server's answer otherwise)."""
    assert response.is_success, (
        f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
    )
    return response.json()
