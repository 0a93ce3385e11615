"""Executions per second on the cluster profile: one API replica and one runner, then two and two.

    python -m benchmarks.cluster_scaling [--executions 300] [--workers 2] [--concurrency 32]

Starts PostgreSQL, SeaweedFS and a three-node NATS cluster on loopback with one API replica and one
remote runner, submits a burst of trivial code-block executions and waits for every result; then adds a
second replica and a second runner on the same engines and runs the same burst, the client sending each
request to the replicas in turn. It prints, for both phases, executions per second (from the first
submission to the last result) and the CPU seconds every process of the topology (engines, replicas,
runners and their workers) spent per execution, then the ratios of the second phase to the first. On
two cores expect little from more processes: the ratio, not the absolute figures, is the finding.
Nothing is kept after the run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from flow_local.cluster.topology import Topology
from flow_local.cluster.workspace import Workspace, default_workspace
from flow_sdk import FlowSDK

COMPONENT = "scaling-echo"
ECHO = "def main(n: int):\n    return {'n': n}\n"


@dataclass
class Phase:
    """One measured burst."""

    replicas: int
    runners: int
    executions: int
    seconds: float
    executions_per_second: float
    cpu_seconds: float
    cpu_ms_per_execution: float


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (None when the process is gone)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _descendants(roots: list[int]) -> set[int]:
    """The processes ``roots`` and every descendant of them."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += parents.get(pid, [])
    return found


def topology_cpu(topology: Topology) -> float:
    """User and system CPU seconds of every live process of the topology, its descendants and the
    children they have waited for."""
    roots = [process.pid for engine in topology.engines() for process in engine.processes]
    ticks = 0
    for pid in _descendants(roots):
        fields = _stat(pid)
        if fields is not None:
            ticks += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


async def burst(flows: list[FlowSDK], count: int, concurrency: int, offset: int) -> None:
    """Submit ``count`` executions round-robin over ``flows`` and wait for every result."""
    limit = asyncio.Semaphore(concurrency)
    turn = itertools.cycle(flows)

    async def one(n: int) -> None:
        flow = next(turn)
        async with limit:
            output = await flow.code_blocks.run(
                COMPONENT, {"n": n}, result_mode="output", timeout_seconds=300
            )
        if output != {"n": n}:
            raise AssertionError(f"execution {n} returned {output!r}")

    await asyncio.gather(*(one(offset + n) for n in range(count)))


def measure(topology: Topology, workspace: Workspace, count: int, concurrency: int, offset: int) -> Phase:
    """Run one burst on every replica of ``topology`` and measure it."""

    async def run() -> None:
        flows = [workspace.sdk(replica.url) for replica in topology.replicas]
        try:
            await burst(flows, count, concurrency, offset)
        finally:
            for flow in flows:
                await flow.close()

    cpu_before = topology_cpu(topology)
    started = time.perf_counter()
    asyncio.run(run())
    seconds = time.perf_counter() - started
    cpu = topology_cpu(topology) - cpu_before
    return Phase(
        replicas=len(topology.replicas),
        runners=len(topology.runners),
        executions=count,
        seconds=round(seconds, 2),
        executions_per_second=round(count / seconds, 2),
        cpu_seconds=round(cpu, 2),
        cpu_ms_per_execution=round(1000 * cpu / count, 1),
    )


def main(argv: list[str] | None = None) -> int:
    """Run both phases and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=300, help="executions per phase")
    parser.add_argument("--workers", type=int, default=2, help="warm workers per runner")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight from the client")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="flow-scaling-") as tmp,
        Topology(Path(tmp), replicas=1, runners=1, workers=args.workers) as topology,
    ):
        url = topology.replicas[0].url
        workspace = default_workspace(url, topology.api_key)
        workspace.create_code_block(url, COMPONENT, ECHO)
        measure(topology, workspace, min(20, args.executions), args.concurrency, offset=-1000)  # warm-up
        one = measure(topology, workspace, args.executions, args.concurrency, offset=0)
        topology.add_replica()
        topology.add_runner()
        measure(topology, workspace, min(20, args.executions), args.concurrency, offset=-2000)  # warm-up
        two = measure(topology, workspace, args.executions, args.concurrency, offset=args.executions)
    report = {
        "load": {
            "cpus": os.cpu_count(),
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
            "executions_per_phase": args.executions,
            "workers_per_runner": args.workers,
            "concurrency": args.concurrency,
        },
        "one_replica_one_runner": asdict(one),
        "two_replicas_two_runners": asdict(two),
        "throughput_ratio": round(two.executions_per_second / one.executions_per_second, 2),
        "cpu_per_execution_ratio": round(two.cpu_ms_per_execution / one.cpu_ms_per_execution, 2),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
