"""Fixtures for the local platform tests: an in-process platform on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from flow_local.harness import LocalPlatform


@pytest.fixture(scope="module")
def local() -> Iterator[LocalPlatform]:
    """A local platform (thread mode, temporary data dir) shared by a test module."""
    with LocalPlatform() as platform:
        yield platform


@pytest.fixture()
def client(local: LocalPlatform) -> Iterator[httpx.Client]:
    """An httpx client authenticated as the default org's admin."""
    with httpx.Client(
        base_url=local.url, headers={"Authorization": f"Bearer {local.admin_token}"}, timeout=30
    ) as c:
        yield c


@pytest.fixture()
def ws_path(local: LocalPlatform) -> str:
    """The default workspace's path prefix."""
    return f"/api/v1/orgs/{local.org_id}/workspaces/{local.workspace_id}"
