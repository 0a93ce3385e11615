"""Smoke test of the benchmark harness: a quick run produces every row and valid JSON.

No timing is asserted: the figures of a quick run on a shared machine mean nothing. What is checked
is that the harness runs end to end, reports every figure (measured, or "not available" with a
reason), and writes a JSON table of the documented shape.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ROW_KEYS = [
    "import_flow_sdk_facade",
    "import_flow_sdk",
    "import_openai",
    "flow_help",
    "serve_first_health",
    "gateway_chat_completion",
    "openai_async_chat",
    "state_get",
    "sync_state_get",
    "cli_list_orgs",
    "openai_sync_chat",
    "sse_stream",
    "await_result_latency",
    "code_block_run_latency",
    "code_block_run_throughput",
    "state_get_concurrent",
    "vector_search",
]
STATUSES = {"met", "missed", "not available", "info"}
# The quick run (the module fixture) takes a minute on a quiet machine and several on a loaded one:
# the suite's 120 s per test would stop it half way.
pytestmark = pytest.mark.timeout(600)
STAT_FIELDS = {"median", "q1", "q3", "low", "high", "n"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    """Run ``python -m benchmarks --quick --json <tmp>`` once; return the JSON and the printed table."""
    path = tmp_path_factory.mktemp("bench") / "quick.json"
    command = [sys.executable, "-m", "benchmarks", "--quick", "--json", str(path)]
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        stop_harness(process)
        raise
    assert process.returncode == 0, stderr[-3000:]
    return json.loads(path.read_text()), stdout


def stop_harness(process: subprocess.Popen[str]) -> None:
    """Stop a harness that overran: SIGTERM lets it stop the servers it started, then its group is killed."""
    process.terminate()
    try:
        process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


@pytest.mark.slow
def test_quick_run_reports_every_row_in_order(quick_run: tuple[dict, str]) -> None:
    document, _ = quick_run
    assert [row["key"] for row in document["rows"]] == ROW_KEYS


@pytest.mark.slow
def test_every_row_is_measured_or_says_why_not(quick_run: tuple[dict, str]) -> None:
    document, _ = quick_run
    for row in document["rows"]:
        assert row["status"] in STATUSES, row
        if row["status"] == "not available":
            assert row["reason"], f"{row['key']} is not available without a reason"
            continue
        assert set(row["value"]) == STAT_FIELDS, row
        assert row["value"]["low"] <= row["value"]["median"] <= row["value"]["high"], row
        if row["baseline_value"] is not None:
            assert row["ratio"] is not None and row["ratio"] > 0, row


@pytest.mark.slow
def test_json_records_how_the_run_was_made(quick_run: tuple[dict, str]) -> None:
    document, _ = quick_run
    meta = document["meta"]
    assert meta["quick"] is True
    assert meta["groups"] == ["import", "startup", "http", "stream", "local"]
    assert meta["settings"]["calls"] > 0


@pytest.mark.slow
def test_the_table_is_printed_with_a_verdict_per_row(quick_run: tuple[dict, str]) -> None:
    document, stdout = quick_run
    assert "flow-sdk benchmarks" in stdout
    for row in document["rows"]:
        assert row["bar"] in stdout or row["bar"][:20] in stdout
