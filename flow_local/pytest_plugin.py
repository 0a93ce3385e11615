"""A pytest plugin for testing your own code against a local platform (registered as ``flow_local``).

Installing ``manifest-flow-sdk[local]`` makes these fixtures available in every test suite:

- ``flow_platform`` (session): one in-process :class:`~flow_local.harness.LocalPlatform`.
- ``flow_tenant``: a fresh org with a workspace, a dev ring, an API key and a token, for one test.
- ``flow``: a :class:`~flow_sdk.FlowSDK` bound to that tenant; the runtime variables (``ORG_ID``,
  ``AUTH_TOKEN``, ...) are set for the test too, so code that calls ``FlowSDK()`` finds the same tenant.
- ``flow_cli``: a :class:`~flow_sdk.CLIClient` bound to the same tenant.

Options: ``--flow-workers N`` (runner processes, default 1) and ``--flow-data-dir DIR`` (default: a
temporary directory removed at the end), or the ini settings ``flow_workers`` and ``flow_data_dir``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flow_local.harness import LocalPlatform
    from flow_sdk import CLIClient, FlowSDK

WORKERS_ENV = "FLOW_LOCAL_RUNNER_WORKERS"
DEFAULT_WORKERS = 1


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--flow-workers`` and ``--flow-data-dir`` and their ini twins."""
    group = parser.getgroup("flow", "local Manifest Platform (flow_local)")
    group.addoption(
        "--flow-workers",
        type=int,
        default=None,
        help=f"runner processes of the test platform (default {DEFAULT_WORKERS}; 0: none)",
    )
    group.addoption(
        "--flow-data-dir",
        default=None,
        help="data directory of the test platform (default: a temporary one, removed afterwards)",
    )
    parser.addini("flow_workers", f"runner processes of the test platform (default {DEFAULT_WORKERS})")
    parser.addini("flow_data_dir", "data directory of the test platform (default: temporary)")


def pytest_configure(config: pytest.Config) -> None:
    """Reject a bad worker count at start, before any test runs."""
    _workers(config)


def _option(config: pytest.Config, name: str) -> str | None:
    """A command-line option, else its ini setting, else None."""
    value = config.getoption(f"--flow-{name.replace('_', '-')}")
    if value is None:
        value = config.getini(f"flow_{name}") or None
    return None if value is None else str(value)


def _workers(config: pytest.Config) -> int:
    raw = _option(config, "workers")
    if raw is None:
        return DEFAULT_WORKERS
    try:
        workers = int(raw)
    except ValueError:
        raise pytest.UsageError(f"flow workers must be a whole number, got {raw!r}") from None
    if workers < 0:
        raise pytest.UsageError(f"flow workers must be 0 or more, got {workers}")
    return workers


@pytest.fixture(scope="session")
def flow_platform(pytestconfig: pytest.Config) -> Iterator[LocalPlatform]:
    """One local platform for the whole session, served from a thread of the test process."""
    from flow_local.harness import LocalPlatform

    previous = os.environ.get(WORKERS_ENV)
    os.environ[WORKERS_ENV] = str(_workers(pytestconfig))
    platform = LocalPlatform(_option(pytestconfig, "data_dir"))
    try:
        platform.start()
    finally:
        _restore(WORKERS_ENV, previous)
    try:
        yield platform
    finally:
        platform.stop()


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


@pytest.fixture
def flow_tenant(flow_platform: LocalPlatform, request: pytest.FixtureRequest) -> dict[str, str]:
    """A fresh org (one workspace, a dev ring, an API key, a user token) that only this test uses."""
    return flow_platform.create_tenant(f"test {request.node.name}"[:120])


@pytest.fixture
def flow_env(
    flow_platform: LocalPlatform, flow_tenant: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The runtime variables of ``flow_tenant``, also set in ``os.environ`` for the test."""
    variables = {
        "PLATFORM_API_URL": flow_platform.url,
        "GATEWAY_URL": flow_platform.url,
        "ORG_ID": flow_tenant["org_id"],
        "WORKSPACE_ID": flow_tenant["workspace_id"],
        "RING_ID": flow_tenant["ring_id"],
        "AUTH_TOKEN": flow_tenant["token"],
        "FLOW_API_KEY": flow_tenant["api_key"],
    }
    for name in ("SERVICE_ID", "EXECUTION_ID", "JOB_ID", "REQUEST_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return variables


def _new_sdk(env: dict[str, str]) -> FlowSDK:
    from flow_sdk import FlowSDK

    return FlowSDK(
        org_id=env["ORG_ID"],
        workspace_id=env["WORKSPACE_ID"],
        auth_token=env["AUTH_TOKEN"],
        platform_url=env["PLATFORM_API_URL"],
        gateway_url=env["GATEWAY_URL"],
        ring_id=env["RING_ID"],
    )


def _plain_flow(flow_env: dict[str, str]) -> FlowSDK:
    """A FlowSDK bound to this test's own org and workspace."""
    return _new_sdk(flow_env)


async def _closing_flow(flow_env: dict[str, str]) -> AsyncIterator[FlowSDK]:
    """A FlowSDK bound to this test's own org and workspace, closed after the test."""
    sdk = _new_sdk(flow_env)
    try:
        yield sdk
    finally:
        await sdk.close()


def _flow_fixture() -> Any:
    """``flow`` as an async fixture (closed in the test's loop) when pytest-asyncio is installed."""
    try:
        import pytest_asyncio
    except ImportError:
        return pytest.fixture(_plain_flow, name="flow")
    return pytest_asyncio.fixture(_closing_flow, name="flow")


flow = _flow_fixture()


@pytest.fixture
def flow_cli(flow_env: dict[str, str]) -> Iterator[CLIClient]:
    """A CLIClient bound to this test's own org and workspace (the same one ``flow`` uses)."""
    from flow_sdk import CLIClient, FlowConfig

    config = FlowConfig(
        platform_url=flow_env["PLATFORM_API_URL"],
        access_token=flow_env["AUTH_TOKEN"],
        org_id=flow_env["ORG_ID"],
        workspace_id=flow_env["WORKSPACE_ID"],
        api_key=flow_env["FLOW_API_KEY"],
        ring_id=flow_env["RING_ID"],
    )
    client = CLIClient(config)
    try:
        yield client
    finally:
        client.close()
