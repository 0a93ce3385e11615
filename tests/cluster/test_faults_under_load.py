"""Faults under load: a burst of 500 executions, with state writes and object uploads, on two API replicas
and two runners, while one NATS node, one API replica and one runner are SIGKILLed and PostgreSQL
restarts. The runner dies while it runs executions: the test listens to the runners' heartbeats and
kills that runner when an execution it announces is inside its code (its witness file says so).

The client acts as a load balancer would: every request goes to a replica, and one that fails (refused
connection, 5xx) is sent to the other with the same idempotency key. What the platform acknowledged is
then checked against PostgreSQL and the executions' own witness lines: every acknowledged execution
completed exactly once with its own output (one row per idempotency key, never more runs than attempts),
an execution cut off on the killed runner ran again elsewhere, and every acknowledged state write and
object reads back as written.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
import psycopg
import pytest
from nats.aio.msg import Msg

from flow_local.cluster.topology import RemoteRunner, Topology
from flow_local.cluster.workspace import Workspace, default_workspace
from flow_local.runtime.nats_endpoint import NatsEndpoint
from flow_local.runtime.streams import decode
from flow_sdk import FlowSDK, FlowSDKError
from flow_sdk.runtime_contract import HEARTBEAT_SUBJECT

BURST = 500
STATE_WRITES = 60
OBJECTS = 60
CONCURRENCY = 16
GIVE_UP_SECONDS = 240.0
POLL_SECONDS = 0.02
COMPONENT = "fault-load"
# Each execution writes a witness line when its code starts and another when it ends: one cut off by a
# runner's death has started once more than it has ended. In between it runs a little, and waits while
# the hold file exists (at most HOLD_SECONDS), so the test can kill a runner whose executions are
# surely inside their code.
HOLD_SECONDS = 10
WITNESSED = f"""import os
import time

def main(n: int, witness: str):
    with open(witness, "a") as handle:
        handle.write(f"start {{n}}\\n")
    time.sleep(0.05)
    deadline = time.monotonic() + {HOLD_SECONDS}
    while os.path.exists(witness + ".hold") and time.monotonic() < deadline:
        time.sleep(0.02)
    with open(witness, "a") as handle:
        handle.write(f"end {{n}}\\n")
    return {{"double": n * 2}}
"""
READY_LINE = re.compile(rb"runner (\S+) ready with")
T = TypeVar("T")


@dataclass
class Load:
    """What the platform acknowledged, and the faults injected meanwhile."""

    executions: dict[int, str] = field(default_factory=dict)
    state: dict[str, int] = field(default_factory=dict)
    objects: dict[str, bytes] = field(default_factory=dict)
    conflicting_acks: list[tuple[int, str, str]] = field(default_factory=list)
    failovers: int = 0
    faults: list[str] = field(default_factory=list)
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    """The calls a replica failed, by the fault injected last and how they failed (status or error)."""
    held: dict[str, list[str]] = field(default_factory=dict)
    """The executions each runner named in its latest heartbeat, by runner id."""
    cut_off: list[str] = field(default_factory=list)
    """The executions running on the killed runner when it was killed."""


@pytest.fixture(scope="module")
def side_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the executions write their witness lines."""
    return tmp_path_factory.mktemp("witness")


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory, side_dir: Path) -> Iterator[Topology]:
    """Two replicas, two runners of two workers, on PostgreSQL, SeaweedFS and three NATS nodes."""
    root = tmp_path_factory.mktemp("faults")
    with Topology(root, replicas=2, runners=2, workers=2, writable=side_dir) as started:
        yield started


class Balancer:
    """Sends each call to a replica, and to the next one when it fails (what a load balancer does)."""

    def __init__(self, flows: list[FlowSDK], load: Load) -> None:
        self.flows = flows
        self.load = load
        self._next = itertools.cycle(range(len(flows)))

    async def call(self, action: Callable[[FlowSDK], Awaitable[T]]) -> T:
        """The result of ``action`` from the first replica that completes it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GIVE_UP_SECONDS
        while True:
            flow = self.flows[next(self._next)]
            try:
                return await action(flow)
            except (FlowSDKError, httpx.HTTPError) as exc:
                if loop.time() > deadline:
                    raise AssertionError(
                        f"no replica completed the call within {GIVE_UP_SECONDS:g} s"
                    ) from exc
                self.load.failovers += 1
                after = self.load.faults[-1].split(" after ")[0] if self.load.faults else "no fault yet"
                status = exc.status_code if isinstance(exc, FlowSDKError) else None
                self.load.failures[f"{after}: " + (f"HTTP {status}" if status else "no response")] += 1
                await asyncio.sleep(0.1)


async def _submit_all(balancer: Balancer, load: Load, witness: Path) -> None:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def submit(n: int) -> None:
        async with limit:
            handle = await balancer.call(
                lambda flow: flow.with_options(idempotency_key=f"fault-{n}").code_blocks.submit(
                    COMPONENT, {"n": n, "witness": str(witness)}
                )
            )
        execution_id = str(handle["execution_id"])
        if load.executions.setdefault(n, execution_id) != execution_id:
            load.conflicting_acks.append((n, load.executions[n], execution_id))

    async def write_state(index: int) -> None:
        async with limit:
            key = f"key-{index}"

            async def write(flow: FlowSDK) -> Any:
                flow.bind_request_context(service={"component_id": COMPONENT})
                return await flow.state.set(key, {"value": index})

            await balancer.call(write)
            load.state[key] = index

    async def upload(index: int) -> None:
        async with limit:
            key = f"faults/object-{index}.bin"
            data = f"object {index} ".encode() * (index + 1)
            await balancer.call(lambda flow: flow.storage.upload(key, data))
            load.objects[key] = data

    tasks = [submit(n) for n in range(BURST)]
    tasks += [write_state(i) for i in range(STATE_WRITES)] + [upload(i) for i in range(OBJECTS)]
    await asyncio.gather(*tasks)


def _runner_id(runner: RemoteRunner) -> str:
    """The id a runner announces in its heartbeats (from its ready line)."""
    found = READY_LINE.search((runner.root / runner.LOG).read_bytes())
    assert found is not None, f"no ready line in {runner.root / runner.LOG}"
    return found.group(1).decode()


def _witnessed(witness: Path, event: str) -> collections.Counter[int]:
    """How many times each execution's code wrote ``event`` (start or end) in the witness file."""
    text = witness.read_text() if witness.exists() else ""
    found: collections.Counter[int] = collections.Counter()
    for line in text.splitlines():
        word, _, number = line.partition(" ")
        if word == event and number.isdigit():
            found[int(number)] += 1
    return found


def _kill_runner_while_running(topology: Topology, load: Load, witness: Path, done: threading.Event) -> None:
    """SIGKILL runner 1 once an execution it announces is inside its code; remember which were.

    The hold file keeps the executions that start meanwhile inside their code until the runner is dead.
    Should the burst end first, the runner is killed all the same and the test fails on ``cut_off``.
    """
    runner = topology.runners[1]
    runner_id = _runner_id(runner)
    hold = witness.with_name(witness.name + ".hold")
    hold.touch()
    try:
        while not done.is_set():
            held = set(load.held.get(runner_id, []))
            started, ended = _witnessed(witness, "start"), _witnessed(witness, "end")
            inside = [e for n, e in list(load.executions.items()) if e in held and started[n] > ended[n]]
            if inside:
                runner.kill()
                load.cut_off = inside
                return
            time.sleep(POLL_SECONDS)
        runner.kill()
    finally:
        hold.unlink()


async def _watch_heartbeats(topology: Topology, load: Load) -> Callable[[], Awaitable[None]]:
    """Record what each runner announces holding, as the platform does; returns the closer."""
    env = topology.replica_environment()
    endpoint = NatsEndpoint.parse(
        env["FLOW_NATS_URL"],
        user=env.get("FLOW_NATS_USER", ""),
        password=env.get("FLOW_NATS_PASSWORD", ""),
        creds_file=env.get("FLOW_NATS_CREDS", ""),
    )
    client = await nats.connect(**endpoint.connect_options(), max_reconnect_attempts=-1)

    async def on_beat(message: Msg) -> None:
        beat = decode(message.data)
        load.held[str(beat.get("runner_id"))] = [str(e) for e in beat.get("executions") or []]

    await client.subscribe(HEARTBEAT_SUBJECT, cb=on_beat)
    return client.close


def _inject_faults(topology: Topology, load: Load, witness: Path, done: threading.Event) -> None:
    """Kill one of each, and restart PostgreSQL, as the acknowledged executions pass each fifth of the burst.

    It runs on the test's main thread: engines die with the thread that started them (PR_SET_PDEATHSIG),
    so PostgreSQL must not be restarted from a short-lived worker thread.
    """
    steps: list[tuple[str, Callable[[], None]]] = [
        ("SIGKILL NATS node 0", lambda: topology.nats.kill_node(0)),
        ("SIGKILL API replica 1", topology.replicas[1].kill),
        (
            "SIGKILL runner 1 while it runs executions",
            lambda: _kill_runner_while_running(topology, load, witness, done),
        ),
        ("restart PostgreSQL", topology.postgres.restart),
    ]
    for number, (name, action) in enumerate(steps, start=1):
        while len(load.executions) < number * BURST // 5 and not done.is_set():
            time.sleep(0.05)
        if done.is_set():
            return
        action()
        load.faults.append(f"{name} after {len(load.executions)} acknowledged executions")
        print(load.faults[-1], flush=True)


async def _run_load(topology: Topology, workspace: Workspace, witness: Path, load: Load) -> dict[int, Any]:
    flows = [workspace.sdk(replica.url).with_options(max_retries=0) for replica in topology.replicas]
    balancer = Balancer(flows, load)
    stop_watching = await _watch_heartbeats(topology, load)
    try:
        await _submit_all(balancer, load, witness)
        survivor = workspace.sdk(topology.replicas[0].url)
        limit = asyncio.Semaphore(CONCURRENCY)

        async def result(execution_id: str) -> Any:
            async with limit:
                return await survivor.code_blocks.await_result(execution_id, timeout_seconds=GIVE_UP_SECONDS)

        try:
            results = await asyncio.gather(*(result(load.executions[n]) for n in range(BURST)))
        except FlowSDKError as exc:
            raise AssertionError(
                f"{exc}; unfinished: {_unfinished(topology)}; faults: {load.faults}"
            ) from exc
        await _check_writes(survivor, load)
        await survivor.close()
        return dict(enumerate(results))
    finally:
        await stop_watching()
        for flow in flows:
            await flow.close()


def _load_with_faults(topology: Topology, workspace: Workspace, witness: Path) -> tuple[Load, dict[int, Any]]:
    """The burst on a thread of its own while the faults are injected from this one."""
    load = Load()
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["results"] = asyncio.run(_run_load(topology, workspace, witness, load))
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=run, name="load")
    worker.start()
    _inject_faults(topology, load, witness, done)
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return load, outcome["results"]


async def _check_writes(flow: FlowSDK, load: Load) -> None:
    flow.bind_request_context(service={"component_id": COMPONENT})
    for key, index in load.state.items():
        assert await flow.state.get(key) == {"value": index}, key
    for key, data in load.objects.items():
        assert await flow.storage.download(key) == data, key


def _unfinished(topology: Topology) -> list[tuple[Any, ...]]:
    """The executions of the burst that did not complete, as PostgreSQL has them."""
    with psycopg.connect(topology.database_url) as conn:
        return list(
            conn.execute(
                "SELECT execution_id, status, attempt, dispatched, created_at, started_at FROM executions"
                " WHERE idempotency_key LIKE 'fault-%' AND status <> 'completed'"
            ).fetchall()
        )


def _rows(topology: Topology) -> list[tuple[str, str, int, int]]:
    with psycopg.connect(topology.database_url) as conn:
        return [
            (str(key), str(status), int(attempt), int(count))
            for key, status, attempt, count in conn.execute(
                "SELECT idempotency_key, max(status), max(attempt), count(*) FROM executions"
                " WHERE idempotency_key LIKE 'fault-%' GROUP BY idempotency_key"
            ).fetchall()
        ]


@pytest.mark.timeout(900)
def test_a_burst_survives_a_nats_node_a_replica_a_runner_and_a_postgres_restart(
    topology: Topology, side_dir: Path
) -> None:
    url = topology.replicas[0].url
    workspace = default_workspace(url, topology.api_key)
    workspace.create_code_block(url, COMPONENT, WITNESSED)
    witness = side_dir / "runs.txt"

    load, results = _load_with_faults(topology, workspace, witness)

    assert len(load.faults) == 4, load.faults
    assert load.conflicting_acks == []
    assert len(load.executions) == BURST
    assert all(results[n]["output"] == {"double": 2 * n} for n in range(BURST))
    rows = _rows(topology)
    assert len(rows) == BURST and all(count == 1 and status == "completed" for _, status, _, count in rows)
    attempts = {int(key.removeprefix("fault-")): attempt for key, _, attempt, _ in rows}
    runs = _witnessed(witness, "start")
    assert set(runs) == set(range(BURST))
    assert all(runs[n] <= attempts[n] for n in range(BURST)), {n: (runs[n], attempts[n]) for n in runs}
    number_of = {execution_id: n for n, execution_id in load.executions.items()}
    cut_off = [number_of[execution_id] for execution_id in load.cut_off]
    assert cut_off, "the killed runner ran none of the burst's executions"
    ends = _witnessed(witness, "end")
    assert set(ends) == set(range(BURST))
    ran_again = [n for n in cut_off if runs[n] == attempts[n] == 2 and ends[n] == 1]
    assert ran_again, {n: (runs[n], ends[n], attempts[n]) for n in cut_off}
    summary = {
        "acknowledged_executions": len(load.executions),
        "completed_rows": sum(1 for _, status, _, _ in rows if status == "completed"),
        "rows_per_key_max": max(count for *_, count in rows),
        "runs": sum(runs.values()),
        "executions_run_twice": sum(1 for n in runs if runs[n] == 2),
        "retried_executions": sum(1 for attempt in attempts.values() if attempt > 1),
        "running_on_the_killed_runner": len(cut_off),
        "cut_off_and_run_again": len(ran_again),
        "acknowledged_state_writes": len(load.state),
        "acknowledged_objects": len(load.objects),
        "failovers": load.failovers,
        "failed_calls": dict(load.failures),
        "faults": load.faults,
    }
    print("faults under load:", json.dumps(summary))
