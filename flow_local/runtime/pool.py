"""How many warm workers a runner keeps: its warm size at rest, more while jobs queue up, back after idling.

A worker runs one job at a time, and between two jobs it forks and confines the child of the next one; a
trivial job spends most of its time in hops (NATS, pipes, the fork) rather than on a core. So a burst of
jobs is served faster by more workers than cores: on 2 cores a pool of 16 ran about 1.6 times as many
trivial jobs per second as a pool of 4 (``python -m flow_local.bench --workers N``). Each worker and its
waiting child hold about 55 MB, so the pool only grows while jobs wait: by one worker at a time, up to
:func:`default_ceiling`, and shrinks back to its warm size one worker per second after
:data:`IDLE_SECONDS` without a job.
"""

from __future__ import annotations

import os
import time

MAX_WORKERS_ENV = "FLOW_LOCAL_RUNNER_MAX_WORKERS"
"""The ceiling of the pool (at least its warm size); by default :func:`default_ceiling`."""
WORKERS_PER_CORE = 8
CEILING_CAP = 16
IDLE_SECONDS = 30.0
"""How long a grown pool stays grown without any job."""


def default_ceiling(size: int) -> int:
    """``FLOW_LOCAL_RUNNER_MAX_WORKERS``, else 8 per core up to 16; never below the warm ``size``."""
    configured = os.environ.get(MAX_WORKERS_ENV, "").strip()
    if configured:
        return max(size, int(configured))
    return max(size, min(CEILING_CAP, WORKERS_PER_CORE * (os.cpu_count() or 1)))


class PoolSize:
    """The growth and shrink decisions of one runner's pool (the runner starts and stops the workers).

    Attributes:
        size: The warm size, kept at rest.
        ceiling: The most workers the pool grows to.
    """

    def __init__(self, size: int, ceiling: int) -> None:
        self.size = size
        self.ceiling = max(size, ceiling)
        self.starting = 0
        self._last_job = time.monotonic()

    def took_jobs(self, jobs: int, offered: int, workers: int) -> bool:
        """Note that ``jobs`` were taken for ``offered`` idle workers; whether to start one more worker.

        A fetch that fills every idle worker means jobs may be waiting: grow by one, unless a worker is
        already starting or the pool is at its ceiling.
        """
        if jobs:
            self._last_job = time.monotonic()
        if jobs < offered or self.starting or workers >= self.ceiling:
            return False
        self.starting += 1
        return True

    def started(self) -> None:
        """A worker started for growth is ready (or failed to start)."""
        self.starting = max(0, self.starting - 1)

    def shrink_now(self, workers: int, idle: int) -> bool:
        """Whether to stop one idle worker: the pool is over its warm size and saw no job for a while."""
        quiet = time.monotonic() - self._last_job >= IDLE_SECONDS
        return quiet and idle > 0 and workers > self.size
