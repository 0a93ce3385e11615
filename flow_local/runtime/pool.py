"""How many warm workers a runner keeps: its warm size at rest, more while long jobs hold every worker.

A worker runs one job at a time. When every worker has been on its job for :data:`GROW_AFTER_SECONDS`
and more jobs wait in the queue (code blocks waiting on a network call, agents waiting on a model), more
workers serve the backlog sooner: the pool grows by one worker per heartbeat, up to
:func:`default_ceiling`, and shrinks back to its warm size one worker at a time after
:data:`IDLE_SECONDS` without a job. A burst of short jobs does not grow it: starting a worker costs about
0.2 s of CPU, more than such a burst gains from it on a machine with few cores. Each worker and its
waiting child hold about 55 MB.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

MAX_WORKERS_ENV = "FLOW_LOCAL_RUNNER_MAX_WORKERS"
"""The ceiling of the pool (at least its warm size); by default :func:`default_ceiling`."""
WORKERS_PER_CORE = 4
CEILING_CAP = 16
GROW_AFTER_SECONDS = 1.0
"""How long every worker must have been on its current job before the pool grows."""
IDLE_SECONDS = 30.0
"""How long a grown pool stays grown without any job."""


def default_ceiling(size: int) -> int:
    """``FLOW_LOCAL_RUNNER_MAX_WORKERS``, else 4 per core up to 16; never below the warm ``size``."""
    configured = os.environ.get(MAX_WORKERS_ENV, "").strip()
    if configured:
        return max(size, int(configured))
    return max(size, min(CEILING_CAP, WORKERS_PER_CORE * (os.cpu_count() or 1)))


class PoolSize:
    """The growth and shrink decisions of one runner's pool (the runner starts and stops the workers).

    Attributes:
        size: The warm size, kept at rest.
        ceiling: The most workers the pool grows to.
        starting: Workers started for growth and not ready yet.
    """

    def __init__(self, size: int, ceiling: int) -> None:
        self.size = size
        self.ceiling = max(size, ceiling)
        self.starting = 0
        self._last_job = time.monotonic()

    def took_jobs(self, jobs: int) -> None:
        """Note that ``jobs`` jobs were just taken (the pool is not idle)."""
        if jobs:
            self._last_job = time.monotonic()

    def saturated(self, workers: int, job_starts: Iterable[float]) -> bool:
        """Whether every one of ``workers`` has been on its job (started at ``job_starts``, seconds since
        the epoch) for :data:`GROW_AFTER_SECONDS`, with room to grow and no worker starting already."""
        if self.starting or workers >= self.ceiling:
            return False
        starts = list(job_starts)
        since = time.time() - GROW_AFTER_SECONDS
        return len(starts) >= workers and all(start <= since for start in starts)

    def grow(self) -> None:
        """A worker is being started for growth."""
        self.starting += 1

    def started(self) -> None:
        """A worker started for growth is ready (or failed to start)."""
        self.starting = max(0, self.starting - 1)

    def shrink_now(self, workers: int, idle: int) -> bool:
        """Whether to stop one idle worker: the pool is over its warm size and saw no job for a while."""
        quiet = time.monotonic() - self._last_job >= IDLE_SECONDS
        return quiet and idle > 0 and workers > self.size
