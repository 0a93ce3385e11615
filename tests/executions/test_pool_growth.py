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

NAP = "import time\n\n\ndef main(i: int) -> dict:\n    time.sleep(0.2)\n    return {'i': i}\n"


@pytest.fixture(scope="module")
def idle() -> Iterator[LocalPlatform]:
    """A platform with no runner of its own: the test runs the runner."""
    platform = start_platform(workers="0")
    create_component(platform, "code_block", "pool-nap", {"source": NAP})
    yield platform
    platform.stop()


def test_the_ceiling_comes_from_the_environment_or_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pool.MAX_WORKERS_ENV, "6")
    assert default_ceiling(2) == 6 and default_ceiling(9) == 9, "never below the warm size"
    monkeypatch.delenv(pool.MAX_WORKERS_ENV)
    monkeypatch.setattr(pool.os, "cpu_count", lambda: 1)
    assert default_ceiling(4) == 8
    monkeypatch.setattr(pool.os, "cpu_count", lambda: 64)
    assert default_ceiling(4) == pool.CEILING_CAP


def test_it_grows_by_one_while_every_idle_worker_gets_a_job_and_shrinks_only_after_quiet() -> None:
    sizes = PoolSize(2, 4)
    assert not sizes.took_jobs(1, 2, workers=2), "an idle worker was left: nothing waits"
    assert sizes.took_jobs(2, 2, workers=2)
    assert not sizes.took_jobs(1, 1, workers=3), "one worker at a time"
    sizes.started()
    assert sizes.took_jobs(1, 1, workers=3)
    sizes.started()
    assert not sizes.took_jobs(1, 1, workers=4), "at the ceiling"
    assert not sizes.shrink_now(workers=4, idle=4), "a job was just taken"
    sizes._last_job -= pool.IDLE_SECONDS
    assert sizes.shrink_now(workers=4, idle=1)
    assert not sizes.shrink_now(workers=2, idle=2), "never below the warm size"


async def test_a_backlog_grows_the_pool_to_its_ceiling_and_quiet_shrinks_it(
    idle: LocalPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert idle.platform is not None
    monkeypatch.setattr(pool, "IDLE_SECONDS", 1.0)
    runner = Runner(idle.platform.extras["runner_nats_url"], size=1, ceiling=3)
    await runner.start()
    try:
        ids = await asyncio.gather(*(asyncio.to_thread(_submit, idle, i) for i in range(24)))
        peak = 1
        deadline = time.monotonic() + 60
        while not all(await asyncio.gather(*(asyncio.to_thread(_ended, idle, i) for i in ids))):
            peak = max(peak, len(runner._workers))
            assert time.monotonic() < deadline, "the backlog did not drain"
            await asyncio.sleep(0.1)
        assert peak == 3, f"the pool grew to {peak} workers"
        while len(runner._workers) > 1:
            assert time.monotonic() < deadline + 30, "the pool did not shrink back"
            await asyncio.sleep(0.2)
    finally:
        await runner.stop()


def _base(lp: LocalPlatform) -> tuple[str, dict[str, str]]:
    return (
        f"{lp.url}/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}",
        {"Authorization": f"Bearer {lp.admin_token}"},
    )


def _submit(lp: LocalPlatform, i: int) -> str:
    base, headers = _base(lp)
    body = {
        "component_type": "code_block",
        "component_id": "pool-nap",
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
