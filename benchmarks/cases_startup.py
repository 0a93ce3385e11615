"""Start-up figures of the tools people wait for: ``flow local serve`` until its first healthy
``/api/v1/health`` answer (against ``python -c "import fastapi"``), and ``flow --help`` (against
``python -c pass``), each measured in fresh processes, side by side with its baseline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.cases_import import import_env
from benchmarks.report import DASH, Row, verdict
from benchmarks.servers import PROJECT_ROOT
from benchmarks.settings import Settings
from benchmarks.stats import paired_ratio, summarize

SERVE_BAR_SECONDS = 1.5
HELP_BAR_SECONDS = 0.3
SERVE_REPEATS_MAX = 7
START_TIMEOUT_SECONDS = 120.0
FLOW = str(Path(sys.executable).parent / "flow")


def _seconds(command: list[str]) -> float:
    """Wall seconds of a command run to its end in a fresh process.

    Raises:
        RuntimeError: When the command fails.
    """
    start = time.perf_counter()
    done = subprocess.run(command, cwd=PROJECT_ROOT, env=import_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return elapsed


def serve_until_healthy(data_dir: Path) -> float:
    """Seconds from starting ``flow local serve`` on ``data_dir`` to its first healthy answer; then stop it.

    Raises:
        RuntimeError: When it exits or stays unhealthy.
    """
    from flow_local.ports import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1/health"
    command = [FLOW, "local", "serve", "--port", str(port), "--data-dir", str(data_dir), "--quiet"]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=import_env()
    )
    try:
        with httpx.Client(timeout=1.0) as client:
            while time.perf_counter() - start < START_TIMEOUT_SECONDS:
                if process.poll() is not None:
                    raise RuntimeError(f"flow local serve exited with {process.returncode}")
                try:
                    if client.get(url).status_code == 200:
                        return time.perf_counter() - start
                except httpx.HTTPError:
                    pass
                time.sleep(0.01)
        raise RuntimeError(f"flow local serve did not answer within {START_TIMEOUT_SECONDS:.0f}s")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_row(settings: Settings) -> Row:
    """Median time to the first healthy answer of ``flow local serve`` (on a data dir made beforehand)."""
    row = Row(
        key="serve_first_health",
        figure="flow local serve: start to first healthy /api/v1/health (wall time)",
        baseline='python -c "import fastapi"',
        unit="s",
        bar=f"≤ {SERVE_BAR_SECONDS} s median",
    )
    served: list[float] = []
    baseline: list[float] = []
    try:
        with tempfile.TemporaryDirectory(prefix="flow-bench-serve-") as data_dir:
            serve_until_healthy(Path(data_dir))  # the first start creates the data dir; not timed
            for _ in range(min(settings.import_repeats, SERVE_REPEATS_MAX)):
                baseline.append(_seconds([sys.executable, "-c", "import fastapi"]))
                served.append(serve_until_healthy(Path(data_dir)))
    except RuntimeError as exc:
        return row.unavailable(str(exc))
    return _finish(row, served, baseline, SERVE_BAR_SECONDS)


def help_row(settings: Settings) -> Row:
    """Median wall time of ``flow --help`` against a bare interpreter."""
    row = Row(
        key="flow_help",
        figure="flow --help (wall time)",
        baseline="python -c pass",
        unit="s",
        bar=f"≤ {HELP_BAR_SECONDS} s median",
    )
    shown: list[float] = []
    baseline: list[float] = []
    try:
        _seconds([FLOW, "--help"])
        for _ in range(settings.import_repeats):
            baseline.append(_seconds([sys.executable, "-c", "pass"]))
            shown.append(_seconds([FLOW, "--help"]))
    except RuntimeError as exc:
        return row.unavailable(str(exc))
    return _finish(row, shown, baseline, HELP_BAR_SECONDS)


def _finish(row: Row, values: list[float], baseline: list[float], bar: float) -> Row:
    row.extra["load_average_1min"] = f"{os.getloadavg()[0]:.2f}"
    row.value = summarize(values)
    row.baseline_value = summarize(baseline)
    ratios = paired_ratio(values, baseline)
    row.ratio = ratios.median
    row.extra["paired_ratio_iqr"] = f"{ratios.q1:.2f}{DASH}{ratios.q3:.2f}"
    row.status = verdict(row.value.median <= bar)
    return row


def startup_rows(settings: Settings) -> list[Row]:
    """The start-up rows, help first (it is the cheaper one)."""
    return [help_row(settings), serve_row(settings)]
