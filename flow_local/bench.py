"""Measure executions on a fresh local platform: submit → result latency, burst throughput, CPU per execution.

python -m flow_local.bench [--runs 50] [--burst 50] [--bursts 5] [--workers 4] [--in-thread]

A trivial code block runs through ``flow.code_blocks.run``: ``--runs`` times one after the other (median
and p90 latency), then ``--bursts`` times ``--burst`` submitted at once (median rate; the machine's other
load moves single bursts a lot). The platform runs in its own process, as ``flow local serve`` does;
``--in-thread`` runs it in a thread of this process instead (as ``LocalPlatform()`` does in tests), where
the client and the platform share one interpreter lock. On Linux the CPU time each process spent during
the bursts is printed per execution; the workers' children (one fresh child per execution, gone when
the figures are read) are counted from the workers' reaped-children times.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flow_local.harness import LocalPlatform

TRIVIAL = "def main(x: int) -> int:\n    return x + 1\n"
COMPONENT_ID = "bench-trivial"
WORKERS = "workers"
CHILDREN = "workers' children"
"""The role of the children a worker forks (one per execution), counted once the worker has reaped them."""


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """User + system CPU seconds of one process and of its children it has waited for (0 when gone).

    The second figure is the kernel's ``cutime + cstime``: the CPU of every child (and of every
    descendant those children waited for) that the process has reaped. A warm worker reaps the child
    of each execution, so its children's CPU shows there once they are gone.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks, (int(fields[13]) + int(fields[14])) / ticks


def _process_tree(root: int) -> dict[int, str]:
    """Pid → short role (platform, nats-server, runner, worker) of ``root`` and its descendants."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_text().replace("\0", " ")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        names[int(entry.name)] = _role(command)
    tree = {root: "platform"}
    grown = True
    while grown:
        children = {pid: names[pid] for pid, parent in parents.items() if parent in tree and pid not in tree}
        tree.update(children)
        grown = bool(children)
    return tree


def _role(command: str) -> str:
    for marker, role in (
        ("nats-server", "nats-server"),
        ("runtime.runner", "runner"),
        ("runtime.worker", WORKERS),
    ):
        if marker in command:
            return role
    return "platform"


class CpuMeter:
    """CPU seconds spent by this process and by the platform's process tree between two snapshots."""

    def __init__(self, platform_pid: int | None, shared: bool) -> None:
        self.platform_pid = platform_pid or os.getpid()
        self.client_role = "client+platform" if shared else "client"
        self.available = Path("/proc/self/stat").exists()
        self._start: dict[str, float] = {}

    def snapshot(self) -> dict[str, float]:
        """Seconds by role right now."""
        totals: dict[str, float] = {self.client_role: time.process_time()}
        if not self.available:
            return totals
        for pid, role in _process_tree(self.platform_pid).items():
            if pid == os.getpid():
                continue
            own, reaped = _cpu_seconds(pid)
            totals[role] = totals.get(role, 0.0) + own
            if role == WORKERS:
                totals[CHILDREN] = totals.get(CHILDREN, 0.0) + reaped
        return totals

    def start(self) -> None:
        """Take the first snapshot."""
        self._start = self.snapshot()

    def per_execution_ms(self, executions: int) -> dict[str, float]:
        """Milliseconds of CPU per execution by role since :meth:`start`."""
        end = self.snapshot()
        return {role: (end[role] - self._start.get(role, 0.0)) * 1000 / executions for role in end}


async def _run(flow: Any, x: int) -> Any:
    return await flow.code_blocks.run(
        code_block_id=COMPONENT_ID, input_parameters={"x": x}, result_mode="output"
    )


async def _timed(make: Callable[[], Any]) -> float:
    started = time.perf_counter()
    await make()
    return time.perf_counter() - started


async def measure(runs: int, burst: int, bursts: int, meter: CpuMeter) -> dict[str, Any]:
    """Latency of sequential ``flow.code_blocks.run`` calls, then the rate of bursts submitted at once."""
    import httpx

    from flow_sdk import FlowSDK

    base = f"{os.environ['PLATFORM_API_URL']}/api/v1/orgs/{os.environ['ORG_ID']}/workspaces/{os.environ['WORKSPACE_ID']}"
    headers = {"Authorization": f"Bearer {os.environ['AUTH_TOKEN']}"}
    body = {"id": COMPONENT_ID, "name": "trivial", "spec": {"source": TRIVIAL}}
    httpx.post(f"{base}/components/code_block", json=body, headers=headers, timeout=30)
    flow = FlowSDK()
    try:
        for index in range(5):
            await _run(flow, index)
        latencies = [await _timed(functools.partial(_run, flow, i)) for i in range(runs)]
        meter.start()
        burst_seconds = [
            await _timed(lambda: asyncio.gather(*(_run(flow, i) for i in range(burst))))
            for _ in range(bursts)
        ]
        cpu = meter.per_execution_ms(burst * bursts)
    finally:
        await flow.close()
    rates = sorted(burst / seconds for seconds in burst_seconds)
    return {
        "median_ms": statistics.median(latencies) * 1000,
        "p90_ms": sorted(latencies)[int(runs * 0.9)] * 1000,
        "rate_median": statistics.median(rates),
        "rate_min": rates[0],
        "rate_max": rates[-1],
        "cpu_ms": cpu,
    }


def report(figures: dict[str, Any], args: argparse.Namespace) -> str:
    """The printed summary."""
    mode = "platform in a thread of the client's process" if args.in_thread else "platform in its own process"
    lines = [
        f"trivial code block via flow.code_blocks.run ({args.workers} workers, {mode}):",
        f"  one at a time: median {figures['median_ms']:.1f} ms, p90 {figures['p90_ms']:.1f} ms ({args.runs} runs)",
        f"  {args.burst} submitted at once: median {figures['rate_median']:.0f} executions/s"
        f" (min {figures['rate_min']:.0f}, max {figures['rate_max']:.0f}, {args.bursts} bursts)",
    ]
    cpu = figures["cpu_ms"]
    if len(cpu) > 1:
        parts = ", ".join(f"{role} {ms:.1f}" for role, ms in sorted(cpu.items(), key=lambda kv: -kv[1]))
        lines.append(f"  CPU per execution during the bursts (ms): {parts}; total {sum(cpu.values()):.1f}")
    return "\n".join(lines)


def main() -> None:
    """Start a platform, measure, print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--bursts", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--in-thread", action="store_true", help="run the platform in a thread of this process"
    )
    args = parser.parse_args()
    os.environ["FLOW_LOCAL_RUNNER_WORKERS"] = str(args.workers)
    with LocalPlatform(subprocess=not args.in_thread) as platform:
        os.environ.update(platform.env())
        os.environ["RING_ID"] = platform.ring_id
        pid = platform.process.pid if platform.process is not None else None
        meter = CpuMeter(pid, shared=args.in_thread)
        figures = asyncio.run(measure(args.runs, args.burst, args.bursts, meter))
    print(report(figures, args))


if __name__ == "__main__":
    main()
