"""Import cost: wall time of fresh interpreters importing flow_sdk (and openai-python, a peer) against
importing httpx."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

from benchmarks.common import Samples
from benchmarks.report import DASH, INFO, TIMES, Row, verdict
from benchmarks.servers import PROJECT_ROOT
from benchmarks.settings import Settings
from benchmarks.stats import paired_ratio, summarize

RATIO_BAR = 1.05
STATEMENTS = {
    "httpx": "import httpx",
    "flow_sdk": "import flow_sdk",
    "flow_sdk_facade": "from flow_sdk import FlowSDK",
    "openai": "import openai",
}


def import_env() -> dict[str, str]:
    """This environment without ``PYTHONDONTWRITEBYTECODE``, so the warm-up leaves bytecode caches.

    An installed package has its ``.pyc`` files; without them every import compiles from source and
    the figure would measure the compiler, not the import.
    """
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def wall_ms(statement: str) -> tuple[float, float]:
    """Milliseconds of CPU (user + system) and of wall time for ``python -c statement`` in a fresh
    interpreter (bytecode caches allowed).

    Raises:
        RuntimeError: When the statement fails.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", statement],
        cwd=PROJECT_ROOT,
        env=import_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"`python -c {statement!r}` failed: {done.stderr.strip().splitlines()[-1:]}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return cpu, elapsed


def import_samples(settings: Settings) -> tuple[dict[str, Samples], dict[str, str]]:
    """Time every statement ``import_repeats`` times, rotating the order; failures are reasons."""
    failed: dict[str, str] = {}
    names = list(STATEMENTS)
    for name in names:
        try:
            wall_ms(STATEMENTS[name])
        except RuntimeError as exc:
            failed[name] = str(exc)
    names = [name for name in names if name not in failed]
    samples = {name: Samples() for name in names}
    for repeat in range(settings.import_repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].add(*wall_ms(STATEMENTS[name]))
    return samples, failed


def import_rows(settings: Settings) -> list[Row]:
    """The import rows: ``from flow_sdk import FlowSDK`` (with its bar), ``import flow_sdk`` and
    ``import openai`` (for the table)."""
    samples, failed = import_samples(settings)
    rows = [
        Row(
            key="import_flow_sdk_facade",
            figure='python -c "from flow_sdk import FlowSDK" (wall time)',
            baseline='python -c "import httpx"',
            unit="ms",
            bar=f"≤ {RATIO_BAR:.2f}{TIMES}",
        ),
        Row(
            key="import_flow_sdk",
            figure='python -c "import flow_sdk" (wall time, for information)',
            baseline='python -c "import httpx"',
            unit="ms",
            bar="— (reported)",
        ),
        Row(
            key="import_openai",
            figure='peer: python -c "import openai" (wall time)',
            baseline='python -c "import httpx"',
            unit="ms",
            bar="— (reported)",
        ),
    ]
    for row, name in zip(rows, ("flow_sdk_facade", "flow_sdk", "openai"), strict=True):
        if "httpx" in failed:
            row.unavailable(failed["httpx"])
            continue
        base = samples["httpx"]
        row.baseline_value = summarize(base.wall)
        if name in failed:
            row.unavailable(failed[name])
            continue
        row.value = summarize(samples[name].wall)
        ratios = paired_ratio(samples[name].wall, base.wall)
        row.ratio = ratios.median
        row.extra["paired_ratio_iqr"] = f"{ratios.q1:.3f}{DASH}{ratios.q3:.3f}"
        row.extra["cpu_ms_median"] = summarize(samples[name].cpu).median
        row.extra["baseline_cpu_ms_median"] = summarize(base.cpu).median
        row.extra["cpu_ratio"] = round(paired_ratio(samples[name].cpu, base.cpu).median, 3)
        row.status = verdict(row.ratio <= RATIO_BAR) if name == "flow_sdk_facade" else INFO
    return rows
