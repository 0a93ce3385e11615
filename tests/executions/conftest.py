"""Shared fixtures: one real local platform (NATS, runners, SQLite) per test module."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from flow_local.harness import LocalPlatform
from flow_sdk import FlowSDK

WORKERS = "3"
SHARED_DIR = Path(tempfile.mkdtemp(prefix="flow-exec-tests-"))
"""A directory the tests' code blocks may write (``FLOW_LOCAL_RUNNER_WRITABLE``): their side channel."""
os.environ["FLOW_LOCAL_RUNNER_WRITABLE"] = str(SHARED_DIR)


@pytest.fixture
def side_dir() -> Path:
    """A fresh directory that code blocks run by the test platforms may write into."""
    return Path(tempfile.mkdtemp(dir=SHARED_DIR))


def start_platform(**kwargs: Any) -> LocalPlatform:
    """A started LocalPlatform with a small warm pool."""
    previous = os.environ.get("FLOW_LOCAL_RUNNER_WORKERS")
    os.environ["FLOW_LOCAL_RUNNER_WORKERS"] = kwargs.pop("workers", WORKERS)
    try:
        return LocalPlatform(**kwargs).start()
    finally:
        if previous is None:
            os.environ.pop("FLOW_LOCAL_RUNNER_WORKERS", None)
        else:
            os.environ["FLOW_LOCAL_RUNNER_WORKERS"] = previous


@pytest.fixture(scope="module")
def lp() -> Iterator[LocalPlatform]:
    platform = start_platform()
    yield platform
    platform.stop()


@pytest.fixture
def runtime_env(lp: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The platform's runtime variables exported, as FlowSDK() reads them."""
    env = lp.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
async def flow(runtime_env: dict[str, str]) -> AsyncIterator[FlowSDK]:
    sdk = FlowSDK()
    yield sdk
    await sdk.close()


def api(lp: LocalPlatform) -> httpx.Client:
    """An admin HTTP client on the default workspace."""
    base = f"{lp.url}/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {lp.admin_token}"}, timeout=30)


def create_component(
    lp: LocalPlatform, component_type: str, component_id: str, spec: dict[str, Any]
) -> dict[str, Any]:
    """Create (or replace) a catalog component with a chosen id."""
    with api(lp) as client:
        client.delete(f"/components/{component_type}/{component_id}")
        response = client.post(
            f"/components/{component_type}", json={"id": component_id, "name": component_id, "spec": spec}
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]


def create_ring(lp: LocalPlatform, ring_id: str) -> None:
    """Create a ``ring`` resource with a chosen id (kept when it exists)."""
    with api(lp) as client:
        response = client.post("/resources/ring", json={"id": ring_id, "name": ring_id})
        assert response.status_code in (201, 409), response.text


class CountingTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, noting how many requests of each path are in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        kind = request.url.path.rsplit("/", 1)[-1]
        self.sent[kind] += 1
        self.in_flight[kind] += 1
        self.peak[kind] = max(self.peak[kind], self.in_flight[kind])
        try:
            response = await super().handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.in_flight[kind] -= 1


@asynccontextmanager
async def counted_flow(**options: Any) -> AsyncIterator[tuple[FlowSDK, CountingTransport]]:
    """A FlowSDK from the environment sending through a :class:`CountingTransport` (closed after)."""
    counting = CountingTransport()
    async with httpx.AsyncClient(transport=counting) as brought:
        flow = FlowSDK().with_options(http_client=brought, **options)
        try:
            yield flow, counting
        finally:
            await flow.close()
