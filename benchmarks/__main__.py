"""``python -m benchmarks [--quick] [--json PATH] [--only GROUP,...] [--strict]``.

Runs every figure (import cost, per-call overhead, SSE throughput on a fixed-response server; then
await_result, code block runs and vector search on a local platform), prints the table and writes it
as JSON (by default to ``benchmarks/results/bench-<time>.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from benchmarks.cases_http import (
    cli_list_orgs,
    gateway_and_state,
    openai_sync_chat,
    per_call_rows,
    sync_twin_state,
)
from benchmarks.cases_import import import_rows
from benchmarks.cases_load import load_row
from benchmarks.cases_local import await_row, run_local_cases, run_rows
from benchmarks.cases_startup import startup_rows
from benchmarks.cases_stream import measure_stream
from benchmarks.cases_vector import vector_row
from benchmarks.common import describe, load
from benchmarks.report import MISSED, Row, render, write_json
from benchmarks.servers import PROJECT_ROOT, fixed_server
from benchmarks.settings import FULL, QUICK, Settings

GROUPS = ("import", "startup", "http", "stream", "local")
RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny counts (seconds, not minutes); no meaningful bars"
    )
    parser.add_argument("--json", type=Path, default=None, help="where to write the JSON table")
    parser.add_argument(
        "--only", default=",".join(GROUPS), help=f"comma-separated groups to run, among {', '.join(GROUPS)}"
    )
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a bar is missed")
    args = parser.parse_args(argv)
    groups = [group.strip() for group in args.only.split(",") if group.strip()]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; choose among {', '.join(GROUPS)}")
    args.groups = groups
    return args


def fixed_server_rows(settings: Settings, groups: list[str]) -> list[Row]:
    """Per-call and streaming figures, against one fixed-response server subprocess."""
    rows: list[Row] = []
    with fixed_server(settings.stream_chunks) as url:
        if "http" in groups:
            per_call = per_call_rows()
            asyncio.run(gateway_and_state(settings, url, per_call))
            sync_twin_state(settings, url, per_call["sync_state_get"])
            cli_list_orgs(settings, url, per_call["cli_list_orgs"])
            openai_sync_chat(settings, url, per_call["openai_sync_chat"])
            rows.extend(per_call.values())
        if "stream" in groups:
            rows.append(asyncio.run(measure_stream(settings, url)))
    return rows


def local_platform_rows(settings: Settings) -> list[Row]:
    """The local-platform figures; all "not available" (with the reason) when it cannot start."""
    try:
        local_platform_class = load("flow_local:LocalPlatform")
        with local_platform_class(subprocess=True) as started:
            return asyncio.run(run_local_cases(settings, started))
    except Exception as exc:
        reason = f"local platform: {describe(exc)}"
        rows = (await_row(), *run_rows(), load_row(settings), vector_row(settings))
        return [row.unavailable(reason) for row in rows]


def run(settings: Settings, groups: list[str]) -> list[Row]:
    """Every figure of the selected groups, in table order (imports first, on a quiet machine)."""
    rows: list[Row] = []
    if "import" in groups:
        rows.extend(import_rows(settings))
    if "startup" in groups:
        rows.extend(startup_rows(settings))
    if "http" in groups or "stream" in groups:
        rows.extend(fixed_server_rows(settings, groups))
    if "local" in groups:
        rows.extend(local_platform_rows(settings))
    return rows


def metadata(settings: Settings, groups: list[str], seconds: float) -> dict[str, Any]:
    """Where and how the run happened."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_seconds": round(seconds, 1),
        "quick": settings.quick,
        "groups": groups,
        "settings": settings.__dict__,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "commit": commit or None,
    }


def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit, so the servers the run started are stopped by their context managers."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run, print, write; return the exit status."""
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(
        f"[bold]flow-sdk benchmarks[/] ({'quick' if settings.quick else 'full'} run: {', '.join(args.groups)})"
    )
    start = time.perf_counter()
    rows = run(settings, args.groups)
    meta = metadata(settings, args.groups, time.perf_counter() - start)
    render(rows, console)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.json or RESULTS_DIR / f"bench-{stamp}{'-quick' if settings.quick else ''}.json"
    write_json(rows, meta, path)
    console.print(f"JSON written to {path} ({meta['duration_seconds']} s)")
    missed = [row.key for row in rows if row.status == MISSED]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
