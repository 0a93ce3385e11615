"""A runner: a pool of warm worker processes fed from the shared JetStream work queue ``EXEC_DISPATCH``.

Any number of runners share the durable consumer ``runners``, so a runner started from another shell
(``flow local runner --nats nats://runner:PASSWORD@127.0.0.1:PORT``) takes its part of the queue. A
runner claims a job (acknowledges it) only when one of its workers is idle, after announcing it in a
heartbeat (the platform marks it running then), takes the input (inside the job, or from
``exec.input.{execution_id}``) and hands both to the worker, then publishes the events and the output the worker's confined
child produces, on that execution's subjects only: user code never holds NATS credentials. It enforces
the job's deadline as a fallback to the platform's, kills a worker on request
(``exec.control.{execution_id}``: cancel or timeout) and replaces it, and announces the executions it
holds every second on ``exec.runners.heartbeat``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import MaxPayloadError
from nats.errors import TimeoutError as NatsTimeoutError

from flow_local.runtime.inputs import StoredInput, complete_input, read_input, remove_input
from flow_local.runtime.payloads import PAYLOAD_LIMIT_BYTES, PayloadMissing, discard, pack, unpack
from flow_local.runtime.pool import PoolSize, default_ceiling
from flow_local.runtime.sandbox import die_with_parent, landlock_abi, warn_unconfined
from flow_local.runtime.streams import decode, encode
from flow_local.runtime.worker_process import OnEvent, WorkerDied, WorkerProcess
from flow_sdk._nats import ExecutionTransport
from flow_sdk.runtime_contract import (
    CONTROL_WILDCARD,
    DISPATCH_STREAM,
    HEARTBEAT_SUBJECT,
    RUNNERS_CONSUMER,
    EventMessage,
    Heartbeat,
    OutputMessage,
    events_subject,
    output_subject,
    status_subject,
)

DEFAULT_WORKERS = 4
DEADLINE_SLACK_SECONDS = 2.0
HEARTBEAT_SECONDS = 1.0
RETRY_FETCH_SECONDS = 0.5
PUBLISH_PATIENCE_SECONDS = 60.0
T = TypeVar("T")
PUBLISH_TIMEOUT_SECONDS = 5.0


class Runner:
    """Pulls jobs and runs each in an idle warm worker.

    Attributes:
        nats_url: The NATS server of the platform.
        size: Number of warm worker processes (kept at rest; the pool grows while jobs wait).
        ceiling: The most workers the pool grows to (see :mod:`flow_local.runtime.pool`).
        runner_id: This runner's id in heartbeats.
        connect_options: Keyword arguments for ``nats.connect`` (servers and credentials of a cluster);
            by default the one server of ``nats_url``.
    """

    def __init__(
        self,
        nats_url: str,
        size: int = DEFAULT_WORKERS,
        runner_id: str | None = None,
        connect_options: Mapping[str, Any] | None = None,
        ceiling: int | None = None,
    ) -> None:
        self.nats_url = nats_url
        self.connect_options = dict(connect_options or {"servers": nats_url})
        self.size = max(1, size)
        self.ceiling = default_ceiling(self.size) if ceiling is None else max(self.size, ceiling)
        self._pool = PoolSize(self.size, self.ceiling)
        self.runner_id = runner_id or f"runner-{uuid.uuid4().hex[:8]}"
        self._nc: NatsClient | None = None
        self._idle: asyncio.Queue[WorkerProcess] = asyncio.Queue()
        self._claimed: dict[str, WorkerProcess] = {}
        self._kill_status: dict[str, str] = {}
        self._handed: set[str] = set()
        """Claimed executions whose job is in a worker (a kill before that stops the job from starting)."""
        self._attempts: dict[str, int] = {}
        self._events_seq: dict[str, int] = {}
        self._started_at: dict[str, float] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = asyncio.Event()
        self._workers: set[WorkerProcess] = set()
        self._transport: ExecutionTransport | None = None

    async def start(self) -> None:
        """Connect, make sure the queue exists, warm the pool, and start pulling."""
        if landlock_abi() == 0:
            warn_unconfined()
        self._nc = await nats.connect(
            **self.connect_options, max_reconnect_attempts=-1, reconnect_time_wait=0.5
        )
        self._transport = ExecutionTransport(self.nats_url)
        await asyncio.gather(*(self._add_worker() for _ in range(self.size)))
        await self._nc.subscribe(CONTROL_WILDCARD, cb=self._on_control)
        self._spawn(self._pull_loop())
        self._spawn(self._heartbeat_loop())

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _add_worker(self) -> None:
        worker = WorkerProcess()
        await worker.start()
        self._workers.add(worker)
        await self._idle.put(worker)

    async def _grow_when_saturated(self) -> None:
        """Start one more worker when every worker has been on its job for a while and jobs still wait."""
        starts = [
            self._started_at[execution_id]
            for execution_id in self._claimed
            if execution_id in self._started_at
        ]
        if not self._pool.saturated(len(self._workers), starts) or not await self._jobs_waiting():
            return
        self._pool.grow()
        self._spawn(self._grow())

    async def _jobs_waiting(self) -> bool:
        """Whether the queue holds jobs no runner has taken yet."""
        assert self._nc is not None
        try:
            info = await self._nc.jetstream().consumer_info(DISPATCH_STREAM, RUNNERS_CONSUMER)
        except Exception:
            return False
        return int(info.num_pending or 0) > 0

    async def _grow(self) -> None:
        """Start one more worker (a failure to start one is reported, not fatal)."""
        try:
            await self._add_worker()
        except Exception as exc:
            print(
                f"runner {self.runner_id}: starting another worker failed ({exc})",
                file=sys.stderr,
                flush=True,
            )
        finally:
            self._pool.started()

    async def _retire(self, worker: WorkerProcess) -> None:
        """Stop an idle worker of a pool grown past its warm size that has had no job for a while."""
        self._workers.discard(worker)
        await worker.stop()

    async def _pull_loop(self) -> None:
        assert self._nc is not None
        subscription = await self._nc.jetstream().pull_subscribe_bind(
            RUNNERS_CONSUMER, stream=DISPATCH_STREAM
        )
        while not self._stopping.is_set():
            workers = [await self._idle.get()]
            while not self._idle.empty():
                workers.append(self._idle.get_nowait())
            messages = await self._next_messages(subscription, len(workers))
            claimed = [(message, workers.pop()) for message in messages]
            if not claimed and self._pool.shrink_now(len(self._workers), len(workers)):
                self._spawn(self._retire(workers.pop()))
            for worker in workers:
                await self._idle.put(worker)
            self._pool.took_jobs(len(claimed))
            if claimed:
                await self._claim(claimed)

    async def _claim(self, claimed: list[tuple[Msg, WorkerProcess]]) -> None:
        """Announce the jobs as held, acknowledge them together, and start those acknowledged."""
        jobs = [decode(message.data) for message, _worker in claimed]
        for job, (_message, worker) in zip(jobs, claimed, strict=True):
            self._claimed[str(job.get("execution_id", ""))] = worker
        await self._beat()
        acks = await asyncio.gather(
            *(message.ack_sync() for message, _worker in claimed), return_exceptions=True
        )
        for job, (_message, worker), ack in zip(jobs, claimed, acks, strict=True):
            execution_id = str(job.get("execution_id", ""))
            if isinstance(ack, BaseException):
                self._claimed.pop(execution_id, None)
                self._kill_status.pop(execution_id, None)
                await self._idle.put(worker)
                continue
            self._attempts[execution_id] = int(job.get("attempt") or 1)
            self._spawn(self._handle(worker, job))

    async def _next_messages(self, subscription: Any, count: int) -> list[Msg]:
        """Up to ``count`` jobs (at least one, or none after a second without any)."""
        try:
            messages: list[Msg] = await subscription.fetch(count, timeout=1.0)
        except (NatsTimeoutError, TimeoutError):
            return []
        except Exception as exc:
            print(
                f"runner {self.runner_id}: fetching a job failed ({exc}); retrying",
                file=sys.stderr,
                flush=True,
            )
            await asyncio.sleep(RETRY_FETCH_SECONDS)
            return []
        return messages[:count]

    async def _handle(self, worker: WorkerProcess, job: dict[str, Any]) -> None:
        execution_id = str(job["execution_id"])
        deadline = float(job.get("timeout_seconds") or 300) + DEADLINE_SLACK_SECONDS
        replace = False
        try:
            await asyncio.wait_for(self._run(worker, job), deadline)
        except TimeoutError:
            worker.kill()
            replace = True
            await self._publish_end(job, "timeout", f"the execution exceeded {job.get('timeout_seconds')} s")
        except WorkerDied:
            replace = True
            status = self._kill_status.pop(execution_id, None)
            if status is not None:
                await self._publish_end(job, status, f"the execution was {status}")
        except Exception as exc:
            await self._publish_end(job, "failed", f"the runner could not run it: {exc}")
        finally:
            self._claimed.pop(execution_id, None)
            self._attempts.pop(execution_id, None)
            self._events_seq.pop(execution_id, None)
            self._started_at.pop(execution_id, None)
            self._kill_status.pop(execution_id, None)
            self._handed.discard(execution_id)
        if replace:
            self._spawn(self._replace(worker))
        else:
            await self._idle.put(worker)

    async def _run(self, worker: WorkerProcess, job: dict[str, Any]) -> None:
        """Take the input, run the job in the worker and publish what it produced.

        No ``running`` message: the heartbeat sent before the job was claimed told the platform, which
        stores the execution as running when a heartbeat first names it. The output carries the time
        the job started here, for a platform that missed that heartbeat.
        """
        assert self._nc is not None
        execution_id = str(job["execution_id"])
        deployment_id = job.get("deployment_id")
        self._started_at[execution_id] = time.time()
        carried = job.pop("input", None)  # the worker gets it once, as the input
        if isinstance(carried, dict):
            message = complete_input(carried, execution_id, deployment_id)
        else:
            message = await self._take_input(execution_id, deployment_id)

        async def on_event(event_type: str, data: dict[str, Any]) -> None:
            await self._publish_event(job, event_type, data)

        async def on_result(result: dict[str, Any]) -> None:
            await self._publish_result(job, result, on_event)

        killed = self._kill_status.get(execution_id)
        if killed is not None:  # cancelled (or timed out) while it was being claimed: never started
            await self._publish_end(job, killed, f"the execution was {killed}")
            return
        self._handed.add(execution_id)
        result, exit_code = await worker.run(job, message, on_event, on_result)
        if result is None:
            reason = f"the execution's process exited with code {exit_code} before returning a result"
            await on_event("error", {"message": reason, "type": "WorkerError"})
            await self._publish(output_subject(execution_id), encode(self._stamped(_output(job, reason))))

    async def _publish_result(self, job: dict[str, Any], result: dict[str, Any], on_event: OnEvent) -> None:
        """Publish the output message of the child's result line (by reference when it is large)."""
        error = result.get("error")
        output = _output(job, str(error.get("message") or "the execution failed") if error else None)
        if not error:
            output["output"] = result.get("output")
            output["usage"] = result.get("usage")
            output["messages"] = result.get("messages")
        body = encode(self._stamped(output))
        if len(body) > PAYLOAD_LIMIT_BYTES:
            reason = (
                f"the execution's output is {len(body)} bytes as JSON, over the limit of "
                f"{PAYLOAD_LIMIT_BYTES} bytes; keep large results in storage"
            )
            await on_event("error", {"message": reason, "type": "PayloadTooLarge"})
            body = encode(self._stamped(_output(job, reason)))
        await self._publish(output_subject(str(job["execution_id"])), await self._claim_check(job, body))

    async def _claim_check(self, job: dict[str, Any], body: bytes) -> bytes:
        """The output message to publish: a large body goes to the payload bucket, by reference."""
        assert self._nc is not None
        js = self._nc.jetstream()
        execution_id = str(job["execution_id"])
        name = f"output/{execution_id}/{job.get('attempt') or 1}"
        envelope = {"execution_id": execution_id, "deployment_id": job.get("deployment_id")}
        return await _patiently(lambda: pack(js, name, body, envelope))

    async def _publish(self, subject: str, body: bytes) -> int:
        """Publish to a stream, retrying while NATS is away (a restart); return the stream sequence."""
        assert self._nc is not None
        nc = self._nc
        ack = await _patiently(lambda: nc.jetstream().publish(subject, body, timeout=PUBLISH_TIMEOUT_SECONDS))
        return int(ack.seq)

    async def _publish_event(self, job: dict[str, Any], event_type: str, data: dict[str, Any]) -> None:
        """Publish one event of a job and remember its sequence for the job's output."""
        execution_id = str(job["execution_id"])
        seq = await self._publish(events_subject(execution_id), encode(_event(job, event_type, data)))
        self._events_seq[execution_id] = max(seq, self._events_seq.get(execution_id, 0))

    def _stamped(self, output: OutputMessage) -> OutputMessage:
        """``output`` with the sequence of the last event published for its execution (0: none) and
        the time its job started here."""
        execution_id = output["execution_id"]
        output["events_seq"] = self._events_seq.get(execution_id, 0)
        if execution_id in self._started_at:
            output["started_at"] = datetime.fromtimestamp(self._started_at[execution_id], UTC).isoformat()
        return output

    async def _take_input(self, execution_id: str, deployment_id: str | None) -> dict[str, Any]:
        """The execution's input (waiting for it when it is not stored yet); it is removed from the work
        queue meanwhile, off the way to running the job."""
        assert self._nc is not None and self._transport is not None
        js = self._nc.jetstream()
        stored = await _patiently(lambda: read_input(js, execution_id, deployment_id))
        if stored is None:
            return await self._transport.fetch_input(deployment_id, execution_id)
        message = await _patiently(lambda: unpack(js, stored.message))
        self._spawn(self._remove_input(execution_id, stored))
        return message

    async def _remove_input(self, execution_id: str, stored: StoredInput) -> None:
        """Remove a taken input from the work queue, and its payload from the bucket."""
        assert self._nc is not None
        js = self._nc.jetstream()
        with contextlib.suppress(Exception):
            await _patiently(lambda: remove_input(js, execution_id, stored.seq))
        with contextlib.suppress(Exception):
            await discard(js, stored.message)

    async def _replace(self, worker: WorkerProcess) -> None:
        self._workers.discard(worker)
        await worker.stop()
        if not self._stopping.is_set():
            await self._add_worker()

    async def _publish_end(self, job: dict[str, Any], status: str, message: str) -> None:
        """Report an execution this runner ended itself (killed worker, deadline, crash)."""
        assert self._nc is not None
        execution_id = str(job["execution_id"])
        with contextlib.suppress(Exception):
            if status == "failed":
                error = {"message": message, "type": "WorkerError"}
                await self._publish_event(job, "error", error)
                await self._publish(
                    output_subject(execution_id), encode(self._stamped(_output(job, message)))
                )
            else:
                payload = {"execution_id": execution_id, "status": status, "timestamp": _now()}
                await self._publish(status_subject(execution_id), encode(payload))

    async def _on_control(self, message: Msg) -> None:
        request = decode(message.data)
        execution_id = message.subject.rsplit(".", 1)[-1]
        worker = self._claimed.get(execution_id)
        if worker is None or request.get("action") != "kill":
            return
        attempt = request.get("attempt")
        if attempt is not None and int(self._attempts.get(execution_id, 1)) > int(attempt):
            return
        self._kill_status[execution_id] = str(request.get("status") or "cancelled")
        if execution_id in self._handed:
            worker.kill()

    async def _beat(self) -> None:
        """Announce the executions this runner holds (also right before it claims a job, so the
        platform never sees a claimed job as neither queued nor held)."""
        assert self._nc is not None
        beat: Heartbeat = {
            "runner_id": self.runner_id,
            "executions": list(self._claimed),
            "workers": len(self._workers),
            "job_input": True,
        }
        with contextlib.suppress(Exception):
            await self._nc.publish(HEARTBEAT_SUBJECT, encode(beat))

    async def _heartbeat_loop(self) -> None:
        assert self._nc is not None
        while not self._stopping.is_set():
            await self._beat()
            await self._grow_when_saturated()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), HEARTBEAT_SECONDS)

    async def stop(self) -> None:
        """Stop pulling, stop the workers (running executions are killed) and disconnect."""
        self._stopping.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for worker in list(self._workers):
            worker.kill()
        await asyncio.gather(*(w.stop() for w in self._workers), return_exceptions=True)
        if self._transport is not None:
            with contextlib.suppress(Exception):
                await self._transport.close()
        if self._nc is not None and not self._nc.is_closed:
            with contextlib.suppress(Exception):
                await self._nc.close()


async def _patiently(action: Callable[[], Awaitable[T]]) -> T:
    """Run a NATS request, retrying while the server is away, up to :data:`PUBLISH_PATIENCE_SECONDS`."""
    deadline = time.monotonic() + PUBLISH_PATIENCE_SECONDS
    delay = 0.1
    while True:
        try:
            return await action()
        except Exception as exc:
            if time.monotonic() + delay > deadline or isinstance(exc, (MaxPayloadError, PayloadMissing)):
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _event(job: dict[str, Any], event_type: str, data: dict[str, Any]) -> EventMessage:
    return {
        "execution_id": str(job["execution_id"]),
        "deployment_id": job.get("deployment_id"),
        "event_type": event_type,
        "event_data": data,
        "timestamp": _now(),
    }


def _output(job: dict[str, Any], error: str | None) -> OutputMessage:
    return {
        "execution_id": str(job["execution_id"]),
        "deployment_id": job.get("deployment_id"),
        "output": None,
        "usage": None,
        "messages": None,
        "state": None,
        "error": error,
        "timestamp": _now(),
    }


async def run_runner(
    nats_url: str,
    size: int = DEFAULT_WORKERS,
    exit_on_stdin_close: bool = False,
    connect_options: Mapping[str, Any] | None = None,
) -> None:
    """Run a runner until interrupted (or until stdin closes, for a runner owned by a platform)."""
    if exit_on_stdin_close:
        die_with_parent()
    runner = Runner(nats_url, size, connect_options=connect_options)
    await runner.start()
    where = nats_url.rsplit("@", 1)[-1]
    print(
        f"runner {runner.runner_id} ready with {runner.size} workers (up to {runner.ceiling}) on {where}",
        flush=True,
    )
    try:
        if exit_on_stdin_close:
            await asyncio.to_thread(sys.stdin.read)
        else:
            await asyncio.Event().wait()
    finally:
        await runner.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m flow_local.runtime.runner --nats URL [--workers N]``."""
    parser = argparse.ArgumentParser(description="Run executions of a local platform from its NATS queue.")
    parser.add_argument("--nats", default=os.environ.get("NATS_URL", ""), help="NATS URL of the platform")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="warm worker processes")
    parser.add_argument("--exit-on-stdin-close", action="store_true", help="stop when stdin closes")
    args = parser.parse_args(argv)
    if not args.nats:
        parser.error("--nats is required (or set NATS_URL)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_runner(args.nats, args.workers, args.exit_on_stdin_close))


if __name__ == "__main__":
    main()
