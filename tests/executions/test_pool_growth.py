"""A runner's pool grows while jobs wait, up to its ceiling, and shrinks back to its warm size when idle."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from flow_local.harness import LocalPlatform
from flow_local.runtime import pool
from flow_local.runtime.pool import PoolSize, default_ceiling
from flow_local.runtime.runner import Runner

from .conftest import create_component, start_platform

QUICK = "def main(i: int) -> dict:\n    return {'i': i}\n"
NAP = "import time\n\n\ndef main(i: int) -> dict:\n    time.sleep(2.5)\n    return {'i': i}\n"


@pytest.fixture(scope="module")
def idle() -> Iterator[LocalPlatform]:
    """A platform with no runner of its own: the test runs the runner."""
    platform = start_platform(workers="0")
    create_component(platform, "code_block", "pool-nap", {"source": NAP})
    create_component(platform, "code_block", "pool-quick", {"source": QUICK})
    yield platform
    platform.stop()


def test_the_ceiling_comes_from_the_environment_or_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pool.MAX_WORKERS_ENV, "6")
    assert default_ceiling(2) == 6 and default_ceiling(9) == 9, "never below the warm size"
    monkeypatch.delenv(pool.MAX_WORKERS_ENV)
    monkeypatch.setattr(pool.os, "cpu_count", lambda: 1)
    assert default_ceiling(2) == 4 and default_ceiling(6) == 6
    monkeypatch.setattr(pool.os, "cpu_count", lambda: 64)
    assert default_ceiling(4) == pool.CEILING_CAP


def test_it_grows_only_when_every_worker_has_been_busy_a_while_and_shrinks_only_after_quiet() -> None:
    sizes = PoolSize(2, 3)
    now = time.time()
    long_ago = now - pool.GROW_AFTER_SECONDS - 1
    assert not sizes.saturated(2, [long_ago]), "a worker is free"
    assert not sizes.saturated(2, [long_ago, now]), "a job just started: a short burst does not grow it"
    assert sizes.saturated(2, [long_ago, long_ago])
    sizes.grow()
    assert not sizes.saturated(2, [long_ago, long_ago]), "one worker at a time"
    sizes.started()
    assert not sizes.saturated(3, [long_ago] * 3), "at the ceiling"
    sizes.took_jobs(1)
    assert not sizes.shrink_now(workers=3, idle=3), "a job was just taken"
    sizes._last_job -= pool.IDLE_SECONDS
    assert sizes.shrink_now(workers=3, idle=1)
    assert not sizes.shrink_now(workers=2, idle=2), "never below the warm size"


async def test_a_backlog_grows_the_pool_to_its_ceiling_and_quiet_shrinks_it(
    idle: LocalPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert idle.platform is not None
    monkeypatch.setattr(pool, "IDLE_SECONDS", 1.0)
    runner = Runner(idle.platform.extras["runner_nats_url"], size=1, ceiling=2)
    await runner.start()
    try:
        ids = await asyncio.gather(*(asyncio.to_thread(_submit, idle, i) for i in range(4)))
        peak = 1
        deadline = time.monotonic() + 60
        while not all(await asyncio.gather(*(asyncio.to_thread(_ended, idle, i) for i in ids))):
            peak = max(peak, len(runner._workers))
            assert time.monotonic() < deadline, "the backlog did not drain"
            await asyncio.sleep(0.1)
        assert peak == 2, f"the pool grew to {peak} workers"
        while len(runner._workers) > 1:
            assert time.monotonic() < deadline + 30, "the pool did not shrink back"
            await asyncio.sleep(0.2)
    finally:
        await runner.stop()


async def test_a_burst_of_short_jobs_does_not_grow_the_pool(idle: LocalPlatform) -> None:
    assert idle.platform is not None
    runner = Runner(idle.platform.extras["runner_nats_url"], size=1, ceiling=3)
    await runner.start()
    try:
        ids = await asyncio.gather(*(asyncio.to_thread(_submit, idle, i, "pool-quick") for i in range(40)))
        deadline = time.monotonic() + 60
        while not all(await asyncio.gather(*(asyncio.to_thread(_ended, idle, i) for i in ids))):
            assert len(runner._workers) == 1 and not runner._pool.starting, "a short burst grew the pool"
            assert time.monotonic() < deadline, "the burst did not drain"
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()


def _base(lp: LocalPlatform) -> tuple[str, dict[str, str]]:
    return (
        f"{lp.url}/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}",
        {"Authorization": f"Bearer {lp.admin_token}"},
    )


def _submit(lp: LocalPlatform, i: int, component_id: str = "pool-nap") -> str:
    base, headers = _base(lp)
    body = {
        "component_type": "code_block",
        "component_id": component_id,
        "ring_id": lp.ring_id,
        "input": {"i": i},
    }
    response = httpx.post(f"{base}/executions", json=body, headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    return str(response.json()["execution_id"])


def _ended(lp: LocalPlatform, execution_id: str) -> bool:
    base, headers = _base(lp)
    response = httpx.get(f"{base}/executions/{execution_id}", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    status = response.json()["status"]
    assert status in ("pending", "running", "completed"), status
    return bool(status == "completed")
