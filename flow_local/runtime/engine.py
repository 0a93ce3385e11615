"""The execution engine: a platform component that owns every execution's state and its NATS transport.

It has :class:`~flow_local.runtime.supervisor.Supervisor` start ``nats-server`` (JetStream store under
``<data dir>/nats``, port kept across restarts so external runners reconnect; password users, see
:mod:`flow_local.runtime.nats_server`) and the local runner, creates the streams, consumes ``exec.output.*``, ``exec.events.*`` and ``exec.status.*`` through durable consumers,
enforces deadlines, cancels, and recovers after a restart (pending executions are dispatched, executions a
lost runner held are retried once, then failed). Waiters are woken by asyncio events, never by polling.

Start-up does not wait for the local runner: it is started (and restarted with backoff whenever it
exits) in the background, and an execution submitted meanwhile waits in the queue for the first worker.
The same supervision restarts a nats-server that died; clients reconnect on their own and executions
whose dispatch failed meanwhile are dispatched again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from flow_local.core import Platform
from flow_local.errors import ApiError
from flow_local.runtime import pidfiles
from flow_local.runtime.collaborators import Collaborators
from flow_local.runtime.inline import run_inline
from flow_local.runtime.nats_auth import AuthCallout, ExecutionGrant
from flow_local.runtime.nats_endpoint import NatsEndpoint, external_endpoint
from flow_local.runtime.nats_server import ISSUER_SEED, PLATFORM_USER, RUNNER_USER, NatsServer
from flow_local.runtime.payloads import (
    PAYLOAD_LIMIT_BYTES,
    PayloadMissing,
    discard,
    ensure_bucket,
    pack,
    unpack,
)
from flow_local.runtime.replicas import ReplicaCoordination
from flow_local.runtime.store import TERMINAL, ExecutionStore
from flow_local.runtime.streams import decode, encode, ensure_runner_consumer, ensure_streams
from flow_local.runtime.supervisor import Supervisor
from flow_local.runtime.waiters import Waiters
from flow_sdk.runtime_contract import (
    DISPATCH_STREAM,
    EVENTS_STREAM,
    HEARTBEAT_SUBJECT,
    INPUT_STREAM,
    JOB_INPUT_BYTES,
    NATS_CREDENTIALS_VARIABLE,
    OUTPUT_STREAM,
    STATUS_STREAM,
    STREAM_SUBJECTS,
    DispatchJob,
    InputMessage,
    control_subject,
    dispatch_subject,
    input_subject,
    output_subject,
)

logger = logging.getLogger("flow_local.executions")

LOST_AFTER_SECONDS = 3.0
MONITOR_SECONDS = 0.5
MAX_ATTEMPTS = 2
WORKERS_ENV = "FLOW_LOCAL_RUNNER_WORKERS"
REDISPATCH_SECONDS = 2.0
ENVELOPE_BYTES = 64 * 1024
"""Room for the fields an input message carries besides the input (config, context)."""
TOKEN_SLACK_SECONDS = 120
"""How long an execution token outlives the execution's timeout (it is refused once the execution ends)."""
LOST_AFTER_ENV = "FLOW_LOCAL_LOST_AFTER_SECONDS"
MSG_ID = "Nats-Msg-Id"
KILLED = ("cancelled", "timeout")
"""Ends decided by the platform: a runner that reports an execution running after one of them is told
to stop it (an execution that completed or failed has nothing left to stop)."""


JETSTREAM_TIMEOUT_SECONDS = 30.0


class ExecutionEngine(ReplicaCoordination):
    """State machine and transport of durable executions.

    Attributes:
        workers: Warm workers of the local runner (0: no local runner, only external ones).
        lost_after: Seconds without a heartbeat naming a running execution before it counts as lost
            (``FLOW_LOCAL_LOST_AFTER_SECONDS``, default 3; runners beat every second).
    """

    def __init__(self, collaborators: Collaborators, workers: int | None = None) -> None:
        self.collaborators = collaborators
        self.workers = int(os.environ.get(WORKERS_ENV, "4")) if workers is None else workers
        self.lost_after = float(os.environ.get(LOST_AFTER_ENV) or LOST_AFTER_SECONDS)
        self.platform: Platform | None = None
        self.store: ExecutionStore | None = None
        self.supervisor: Supervisor | None = None
        self.endpoint: NatsEndpoint | None = None
        self.nc: NatsClient | None = None
        self.js: JetStreamContext | None = None
        self.waiters: Waiters | None = None
        self._deadlines: dict[str, asyncio.TimerHandle] = {}
        self._last_seen: dict[str, float] = {}
        self._inline: dict[str, asyncio.Task[Any]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._events_done_seq = 0
        self._events_progress = asyncio.Event()
        self._last_seq_wanted: asyncio.Future[int] | None = None
        self._last_seq_asking = False
        self._next_redispatch = 0.0
        self._undispatched: set[str] = set()
        self._runner_shapes: dict[str, tuple[float, bool]] = {}
        self.callout: AuthCallout | None = None
        self._held: dict[str, float] = {}
        """Executions runners announced (when each was last named): stored as running once."""

    # ------------------------------------------------------------------ lifecycle
    @property
    def nats_server(self) -> NatsServer | None:
        """The platform's NATS server, once started."""
        return None if self.supervisor is None else self.supervisor.nats_server

    @property
    def nats_url(self) -> str:
        """URL of the platform's NATS server, or its cluster's URLs (no credentials)."""
        if self.endpoint is not None:
            return self.endpoint.public_url
        assert self.supervisor is not None
        return self.supervisor.nats_server.url

    @property
    def runner_pid(self) -> int | None:
        """The process id of the local runner while it runs."""
        return None if self.supervisor is None else self.supervisor.runner_pid

    async def start(self, platform: Platform) -> None:
        """Start (or join) NATS, the streams, the consumers and the local runner; then recover."""
        self.platform = platform
        self.store = ExecutionStore(platform.db)
        self.waiters = Waiters(self.store)
        platform.tokens.execution_ended = self.execution_ended
        self.endpoint = external_endpoint(platform.settings)
        if self.endpoint is None:
            await self._start_embedded_nats(platform)
        else:
            self.workers = 0
            self.nc = await nats.connect(
                **self.endpoint.connect_options(), max_reconnect_attempts=-1, reconnect_time_wait=0.2
            )
            await self.endpoint.check_signing_key()
            platform.extras["nats_url"] = self.nats_url
        assert self.nc is not None
        # A loaded machine can take seconds to create the file-backed streams: JetStream's 5 s
        # default made start-up fail there.
        self.js = self.nc.jetstream(timeout=JETSTREAM_TIMEOUT_SECONDS)
        replicas = 1 if self.endpoint is None else self.endpoint.replicas
        await ensure_streams(self.js, replicas)
        await ensure_runner_consumer(self.js)
        await ensure_bucket(self.js, replicas)
        await self._subscribe()
        if self.endpoint is not None:
            await self.start_replica()
        if self.workers > 0 and self.supervisor is not None:
            self._spawn(self.supervisor.supervise_runner())
        await self._recover()
        self._spawn(self._monitor())

    async def _start_embedded_nats(self, platform: Platform) -> None:
        """Start the platform's own nats-server (supervised) and connect to it as the platform user."""
        pidfiles.reap(platform.settings.data_dir)
        self.supervisor = supervisor = Supervisor(platform.settings.data_dir, self.workers)
        await supervisor.start_nats()
        self.nc = await nats.connect(
            supervisor.nats_server.user_url(PLATFORM_USER), max_reconnect_attempts=-1, reconnect_time_wait=0.2
        )
        seed = supervisor.nats_server.credentials[ISSUER_SEED]
        self.callout = AuthCallout(seed, self._execution_grant)
        await self.callout.serve(self.nc)
        platform.extras["nats_url"] = self.nats_url
        platform.extras["runner_nats_url"] = supervisor.nats_server.user_url(RUNNER_USER)
        platform.extras["platform_nats_url"] = supervisor.nats_server.user_url(PLATFORM_USER)

    async def _subscribe(self) -> None:
        assert self.js is not None and self.nc is not None
        handlers = (
            (OUTPUT_STREAM, STREAM_SUBJECTS[OUTPUT_STREAM], self._on_output),
            (EVENTS_STREAM, STREAM_SUBJECTS[EVENTS_STREAM], self._on_event),
            (STATUS_STREAM, STREAM_SUBJECTS[STATUS_STREAM], self._on_status),
        )
        for stream, subject, handler in handlers:
            config = ConsumerConfig(deliver_policy=DeliverPolicy.NEW, ack_wait=30)
            durable = f"platform_{stream.lower()}"
            # Replicas on a cluster share each consumer as a queue group (of the same name): every
            # message reaches one of them.
            await self.js.subscribe(
                subject,
                queue=None if self.endpoint is None else durable,
                durable=durable,
                stream=stream,
                cb=handler,
                manual_ack=True,
                config=config,
            )
        await self.nc.subscribe(HEARTBEAT_SUBJECT, cb=self._on_heartbeat)

    async def stop(self) -> None:
        """Stop the runner, the consumers and NATS; running executions stay recorded for recovery."""
        for task in [*self._tasks, *self._inline.values()]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._inline.values(), return_exceptions=True)
        for handle in self._deadlines.values():
            handle.cancel()
        if self.supervisor is not None:
            await self.supervisor.stop_runner()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        if self.supervisor is not None:
            await self.supervisor.stop_nats()

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ dispatch
    async def start_execution(self, record: dict[str, Any], spec: dict[str, Any]) -> None:
        """Start a stored pending execution: inline in this process, or published to the runners."""
        if record["execution_mode"] == "inline":
            execution_id = record["execution_id"]
            task = asyncio.create_task(run_inline(self, record, spec))
            self._inline[execution_id] = task
            task.add_done_callback(lambda _t: self._inline.pop(execution_id, None))
            return
        try:
            await self._dispatch(record, spec)
        except Exception as exc:
            self._undispatched.add(str(record["execution_id"]))
            logger.warning(
                "dispatching %s failed (%s); it stays pending and is dispatched again",
                record["execution_id"],
                exc,
            )

    async def _dispatch(self, record: dict[str, Any], spec: dict[str, Any]) -> None:
        """Publish the job with its input inside, or the input and then the job.

        An input message of at most :data:`JOB_INPUT_BYTES` travels in the job while every live runner
        reads it there: one publish, and nothing for the runner to read and remove. A larger one (or one
        an older runner might take) is published first on ``exec.input.{execution_id}``, so it is there
        before any runner can see the job.
        """
        assert self.js is not None and self.store is not None
        execution_id = record["execution_id"]
        message: InputMessage = {
            "execution_id": execution_id,
            "deployment_id": record.get("caller_deployment_id"),
            "input_data": record.get("input") or {},
            "session_id": None,
            "messages": None,
            "state": None,
            "config": record.get("config"),
            "context": record.get("context"),
        }
        body = encode(message)
        if len(body) > PAYLOAD_LIMIT_BYTES + ENVELOPE_BYTES:
            reason = (
                f"the execution's input is {len(body)} bytes encoded, over the limit of "
                f"{PAYLOAD_LIMIT_BYTES} bytes"
            )
            self.finish(execution_id, "failed", {"error": {"message": reason, "type": "PayloadTooLarge"}})
            return
        # The message ids make JetStream drop a second dispatch of one attempt (two replicas recovering it).
        attempt = f"{execution_id}.{record['attempt']}"
        in_job = len(body) <= JOB_INPUT_BYTES and self._runners_read_job_input()
        if not in_job:
            envelope = {"execution_id": execution_id, "deployment_id": message["deployment_id"]}
            body = await pack(self.js, f"input/{execution_id}/{record['attempt']}", body, envelope)
            await self.js.publish(input_subject(execution_id), body, headers={MSG_ID: f"input.{attempt}"})
        job: DispatchJob = {
            "execution_id": execution_id,
            "component_type": record["component_type"],
            "component_id": record["component_id"],
            "spec": spec,
            "env": self.runtime_env(record),
            "timeout_seconds": record["timeout_seconds"],
            "memory_mb": spec.get("memory_mb"),
            "deployment_id": record.get("caller_deployment_id"),
            "attempt": record["attempt"],
        }
        if in_job:
            job["input"] = message
        await self.js.publish(dispatch_subject(execution_id), encode(job), headers={MSG_ID: f"job.{attempt}"})
        self.store.mark_dispatched(execution_id)

    def _runners_read_job_input(self) -> bool:
        """Whether every runner heard from lately reads an input carried in the job (and one was heard).

        A runner of an older version does not say so in its heartbeats: while one is around, inputs go
        on their own subject, where every runner looks for them.
        """
        since = time.monotonic() - self.lost_after
        live = [reads for seen, reads in self._runner_shapes.values() if seen >= since]
        return bool(live) and all(live)

    @staticmethod
    def check_input_size(input_data: Any) -> None:
        """413 when an execution input is over :data:`PAYLOAD_LIMIT_BYTES`, before anything is stored."""
        size = len(encode({"input_data": input_data}))
        if size > PAYLOAD_LIMIT_BYTES:
            raise ApiError(
                413,
                "too_large",
                f"the execution input is {size} bytes as JSON, over the limit of {PAYLOAD_LIMIT_BYTES} bytes;"
                " keep large data in storage and pass its key",
                "input",
            )

    def runtime_env(self, record: dict[str, Any]) -> dict[str, str]:
        """The runtime variables of an execution, with a fresh execution token (also its NATS password)."""
        assert self.platform is not None
        ttl_seconds = int(record["timeout_seconds"]) + TOKEN_SLACK_SECONDS
        token = self.platform.tokens.mint_execution_token(
            org_id=record["org_id"],
            workspace_id=record["workspace_id"],
            execution_id=record["execution_id"],
            ttl_seconds=ttl_seconds,
        )
        credentials = (
            self.endpoint.execution_credentials(record["execution_id"], int(time.time()) + ttl_seconds)
            if self.endpoint is not None
            else ""
        )
        return {
            "ORG_ID": record["org_id"],
            "WORKSPACE_ID": record["workspace_id"],
            "AUTH_TOKEN": token,
            "PLATFORM_API_URL": self.platform.url,
            "GATEWAY_URL": self.platform.url,
            "EXECUTION_ID": record["execution_id"],
            "RING_ID": record["ring_id"],
            "PARENT_BILLING_TXN_ID": record["billing_txn_id"],
            "LIFECYCLE_EVENT": record.get("lifecycle_event") or "",
            "NATS_URL": self._execution_nats_url(token),
            **({NATS_CREDENTIALS_VARIABLE: credentials} if credentials else {}),
        }

    def _execution_nats_url(self, token: str) -> str:
        """The ``NATS_URL`` of code in an execution: with its own credentials on the embedded server
        (see :mod:`flow_local.runtime.nats_auth`), the cluster's bare URLs otherwise (with its own
        credentials apart, when the platform holds an account signing key: :mod:`.nats_creds`)."""
        if self.supervisor is None:
            return self.nats_url
        return self.supervisor.nats_server.execution_url(token)

    # ------------------------------------------------------------------ messages from runners
    async def _on_status(self, msg: Msg) -> None:
        assert self.store is not None
        payload = decode(msg.data)
        execution_id = str(payload.get("execution_id") or msg.subject.rsplit(".", 1)[-1])
        status = str(payload.get("status", ""))
        self._last_seen[execution_id] = time.monotonic()
        if status == "running":
            await self._mark_running(execution_id)
        elif status in ("timeout", "cancelled"):
            self.finish(
                execution_id,
                status,
                {"error": {"message": f"the execution was {status} by its runner", "type": status}},
            )
        await msg.ack()

    async def _mark_running(self, execution_id: str) -> None:
        assert self.store is not None
        timeout = self.store.mark_running(execution_id, time.time())
        if timeout is not None:
            self._schedule_deadline(execution_id, float(timeout))
            return
        status = self.store.status_of(execution_id)
        if status in KILLED:
            await self.kill(execution_id, status)

    async def _on_event(self, msg: Msg) -> None:
        assert self.store is not None
        payload = decode(msg.data)
        execution_id = str(payload.get("execution_id") or msg.subject.rsplit(".", 1)[-1])
        data = payload.get("event_data")
        seq = self.store.add_event(
            execution_id,
            str(payload.get("event_type", "message")),
            data if isinstance(data, dict) else {"value": data},
            msg.metadata.sequence.stream,
        )
        self._events_done_seq = max(self._events_done_seq, msg.metadata.sequence.stream)
        self._events_progress.set()
        self._events_progress = asyncio.Event()
        if seq is not None:
            assert self.waiters is not None
            self.waiters.new_event(execution_id)
            self.notify(execution_id, "event")
        await msg.ack()

    async def _on_output(self, msg: Msg) -> None:
        """Store each output in its own task, so one output's wait for its events never holds up the next."""
        self._spawn(self._store_output(msg))

    async def _store_output(self, msg: Msg) -> None:
        try:
            await self._finish_from_output(msg)
        except Exception:
            logger.exception("storing the output on %s failed (it is delivered again)", msg.subject)

    async def _finish_from_output(self, msg: Msg) -> None:
        assert self.store is not None and self.js is not None
        reference = decode(msg.data)
        execution_id = str(reference.get("execution_id") or msg.subject.rsplit(".", 1)[-1])
        try:
            payload = await unpack(self.js, reference)
        except PayloadMissing as exc:
            self.finish(execution_id, "failed", {"error": {"message": str(exc), "type": "PayloadMissing"}})
            await msg.ack()
            return
        await self._events_before_output(execution_id, payload.get("events_seq"))
        stdout, stderr, error_event = self.store.captured(execution_id)
        fields: dict[str, Any] = {
            "started_at": _start_time(payload.get("started_at")),
            "stdout": stdout,
            "stderr": stderr,
            "usage": payload.get("usage"),
            "messages": payload.get("messages"),
        }
        if payload.get("error") is not None:
            error = dict(error_event or {})
            error["message"] = error.get("message") or str(payload["error"]) or "the execution failed"
            self.finish(execution_id, "failed", {**fields, "error": error})
        else:
            self.finish(execution_id, "completed", {**fields, "output": payload.get("output")})
        await msg.ack()
        with contextlib.suppress(Exception):
            await discard(self.js, reference)

    async def _events_before_output(self, execution_id: str, events_seq: Any) -> None:
        """Wait until the events published before an output are stored (they travel in another stream).

        The output of a runner that names the sequence of its last event (``events_seq``) needs no
        request: the wait is for that event, or none. Code in the execution may publish events of its
        own, which the runner does not count: when it can have (its credentials connected to the
        embedded server, or any execution on an external cluster), the stream is asked as for an
        output that names no sequence.
        """
        if isinstance(events_seq, int) and not self._may_have_own_events(execution_id):
            if events_seq > 0:
                await self._events_stored(events_seq)
            return
        await self._events_stored(await self._events_last_seq())

    def _may_have_own_events(self, execution_id: str) -> bool:
        """Whether code in an execution may have published events itself (see :meth:`_events_before_output`)."""
        return self.callout is None or execution_id in self.callout.connected

    async def _events_stored(self, last_seq: int, timeout: float = 1.0) -> None:
        """Wait until every event up to the stream sequence ``last_seq`` is stored (``timeout`` at most)."""
        if self.endpoint is not None:
            await self.events_stored_up_to(last_seq, timeout)
            return
        deadline = time.monotonic() + timeout
        while self._events_done_seq < last_seq and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._events_progress.wait(), deadline - time.monotonic())

    async def _events_last_seq(self) -> int:
        """The last sequence of the events stream, from a request sent after this call began.

        Callers arriving together share one ``STREAM.INFO`` request: a burst of outputs costs a few
        round trips, not one each.
        """
        if self._last_seq_wanted is None:
            self._last_seq_wanted = asyncio.get_running_loop().create_future()
            if not self._last_seq_asking:
                self._spawn(self._ask_last_seq())
        return await asyncio.shield(self._last_seq_wanted)

    async def _ask_last_seq(self) -> None:
        assert self.js is not None
        self._last_seq_asking = True
        try:
            while self._last_seq_wanted is not None:
                wanted, self._last_seq_wanted = self._last_seq_wanted, None
                try:
                    info = await self.js.stream_info(EVENTS_STREAM)
                except Exception as exc:
                    wanted.set_exception(exc)
                else:
                    wanted.set_result(int(info.state.last_seq))
        finally:
            self._last_seq_asking = False

    async def _on_heartbeat(self, msg: Msg) -> None:
        now = time.monotonic()
        beat = decode(msg.data)
        for execution_id in beat.get("executions") or []:
            self._last_seen[str(execution_id)] = now
        if beat.get("workers"):  # a runner (replicas announce their inline executions with no workers)
            self._runner_shapes[str(beat.get("runner_id"))] = (now, beat.get("job_input") is True)
            await self._mark_held(beat.get("executions") or [], now)

    async def _mark_held(self, execution_ids: list[Any], now: float) -> None:
        """Store as running the executions a runner names for the first time (it claims them now)."""
        for name in execution_ids:
            execution_id = str(name)
            first = execution_id not in self._held
            self._held[execution_id] = now
            if first:
                await self._mark_running(execution_id)

    def _execution_grant(self, token: str) -> ExecutionGrant | None:
        """NATS rights for a connection presenting ``token``: only a live execution's own token gets any."""
        assert self.platform is not None
        try:
            principal = self.platform.tokens.verify(token)
        except ApiError:
            return None
        execution_id = principal.execution_id
        if principal.token_type != "execution" or execution_id is None or self.execution_ended(execution_id):
            return None
        return ExecutionGrant(execution_id, principal.expires_at)

    def execution_ended(self, execution_id: str) -> bool:
        """Whether an execution is over (or unknown): its tokens are refused from then on."""
        assert self.store is not None
        status = self.store.status_of(execution_id)
        return status is None or status in TERMINAL

    # ------------------------------------------------------------------ state changes and waiters
    def finish(self, execution_id: str, status: str, fields: dict[str, Any]) -> bool:
        """Move an execution to a terminal state (first writer wins), store a conversation, wake waiters."""
        assert self.store is not None
        if status == "completed" and fields.get("messages"):
            fields["conversation_id"] = self._save_conversation(execution_id, fields["messages"])
        changed = self.store.finish(execution_id, status, fields)
        if self.callout is not None:
            self.callout.connected.discard(execution_id)
        if changed:
            handle = self._deadlines.pop(execution_id, None)
            if handle is not None:
                handle.cancel()
            self._last_seen.pop(execution_id, None)
            assert self.waiters is not None
            self.waiters.ended(execution_id)
            self.notify(execution_id, "ended")
        return changed

    def _save_conversation(self, execution_id: str, messages: list[dict[str, Any]]) -> str | None:
        assert self.platform is not None and self.store is not None
        record = self.store.get(execution_id)
        if record["status"] in TERMINAL:
            return None
        return self.collaborators.save_conversation(self.platform, record, messages)

    async def wait_terminal(
        self, execution_id: str, timeout: float, record: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The execution once terminal, or as it is after ``timeout`` seconds (see :class:`Waiters`)."""
        assert self.waiters is not None
        return await self.waiters.wait_terminal(execution_id, timeout, record)

    async def wait_events(self, execution_id: str, after_seq: int, timeout: float) -> list[dict[str, Any]]:
        """Events after ``after_seq``, waiting up to ``timeout`` for one when there are none yet."""
        assert self.waiters is not None
        return await self.waiters.wait_events(execution_id, after_seq, timeout)

    def add_event(self, execution_id: str, event_type: str, data: dict[str, Any]) -> None:
        """Store an event produced inside the platform (inline agents and workflows)."""
        assert self.store is not None
        self.store.add_event(execution_id, event_type, data, None)
        assert self.waiters is not None
        self.waiters.new_event(execution_id)
        self.notify(execution_id, "event")

    # ------------------------------------------------------------------ deadlines, cancel, kill
    def _schedule_deadline(self, execution_id: str, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        old = self._deadlines.pop(execution_id, None)
        if old is not None:
            old.cancel()
        self._deadlines[execution_id] = loop.call_later(max(0.0, seconds), self._on_deadline, execution_id)

    def _on_deadline(self, execution_id: str) -> None:
        self._deadlines.pop(execution_id, None)
        assert self.store is not None
        timeout = self.store.get(execution_id)["timeout_seconds"]
        error = {"message": f"the execution exceeded its timeout of {timeout} s", "type": "TimeoutError"}
        if self.finish(execution_id, "timeout", {"error": error}):
            self._spawn(self.kill(execution_id, "timeout"))

    async def cancel(self, execution_id: str) -> dict[str, Any]:
        """Cancel a pending or running execution; the process running it is killed."""
        assert self.store is not None
        self.store.request_cancel(execution_id)
        error = {"message": "the execution was cancelled", "type": "CancelledError"}
        if self.finish(execution_id, "cancelled", {"error": error}):
            await self.kill(execution_id, "cancelled")
        return self.store.get(execution_id)

    async def kill(self, execution_id: str, status: str, attempt: int | None = None) -> None:
        """Stop an execution wherever it is: its inline task, its queued job, or its worker process.

        With ``attempt``, a runner kills only that attempt or an older one (a retry is left alone).
        """
        task = self._inline.get(execution_id)
        if task is not None:
            task.cancel()
        assert self.nc is not None and self.js is not None
        for stream, subject in (
            (DISPATCH_STREAM, dispatch_subject(execution_id)),
            (INPUT_STREAM, input_subject(execution_id)),
        ):
            with contextlib.suppress(NotFoundError, Exception):
                found = await self.js.get_last_msg(stream, subject)
                if found.seq is not None:
                    await self.js.delete_msg(stream, found.seq)
        await self.nc.publish(
            control_subject(execution_id), encode({"action": "kill", "status": status, "attempt": attempt})
        )

    # ------------------------------------------------------------------ restart safety
    async def _recover(self) -> None:
        """Dispatch what was accepted but not published; watch what was running for a live runner."""
        assert self.store is not None and self.js is not None
        now = time.monotonic()
        for record in self.store.active():
            try:
                await self._recover_one(record, now)
            except Exception as exc:
                logger.exception("recovering %s failed; it is failed", record.get("execution_id"))
                reason = f"the execution could not be recovered after a restart: {type(exc).__name__}: {exc}"
                self.finish(
                    str(record["execution_id"]),
                    "failed",
                    {"error": {"message": reason, "type": "RecoveryError"}},
                )

    async def _recover_one(self, record: dict[str, Any], now: float) -> None:
        """Recover one active execution (see :meth:`_recover`)."""
        execution_id = record["execution_id"]
        if record["execution_mode"] == "inline" and self.endpoint is not None:
            self._last_seen[execution_id] = now  # another replica may run it: it has a grace period to say so
        elif record["execution_mode"] == "inline":
            await self._retry_or_fail(record, "the platform restarted while it ran")
        elif not record["dispatched"]:
            await self.start_execution(record, self._spec_of(record))
        else:
            self._last_seen[execution_id] = now
            if self.callout is not None:
                self.callout.connected.add(execution_id)  # its code may have connected before the restart
            if record["status"] == "running" and record.get("started_mono"):
                remaining = float(record["started_mono"]) + float(record["timeout_seconds"]) - time.time()
                self._schedule_deadline(execution_id, remaining)

    async def _monitor(self) -> None:
        """Retry (once) or fail executions whose runner stopped announcing them."""
        while True:
            await asyncio.sleep(MONITOR_SECONDS)
            try:
                if self.supervisor is not None and await self.supervisor.check_nats():
                    self._seen_all_now()
                await self._check_lost()
                self._forget_unheld()
                await self._redispatch()
                await self.sweep()
            except Exception:
                logger.exception("checking for lost executions failed")

    def _forget_unheld(self) -> None:
        """Forget executions no runner named for a while (named again, one is marked again: a no-op)."""
        since = time.monotonic() - self.lost_after
        for execution_id, named in list(self._held.items()):
            if named < since:
                del self._held[execution_id]

    def _seen_all_now(self) -> None:
        """Give every watched execution a fresh grace period (its runner could not report meanwhile)."""
        now = time.monotonic()
        for execution_id in list(self._last_seen):
            self._last_seen[execution_id] = now

    async def _redispatch(self) -> None:
        """Dispatch again the pending executions whose dispatch failed (NATS was down)."""
        assert self.store is not None
        now = time.monotonic()
        if (
            not self._undispatched
            or now < self._next_redispatch
            or self.nc is None
            or not self.nc.is_connected
        ):
            return
        self._next_redispatch = now + REDISPATCH_SECONDS
        for execution_id in sorted(self._undispatched):
            record = self.store.get(execution_id)
            if record["status"] != "pending" or record["dispatched"]:
                self._undispatched.discard(execution_id)
                continue
            try:
                await self._dispatch(record, self._spec_of(record))
            except Exception as exc:
                logger.warning("dispatching %s again failed: %s", execution_id, exc)
                return
            self._undispatched.discard(execution_id)

    async def _check_lost(self) -> None:
        assert self.store is not None and self.js is not None
        now = time.monotonic()
        for execution_id, seen in list(self._last_seen.items()):
            if now - seen < self.lost_after:
                continue
            self._last_seen.pop(execution_id, None)
            try:
                await self._check_one_lost(execution_id)
            except Exception:
                # The database or NATS is away: look again after another grace period.
                self._last_seen.setdefault(execution_id, now)
                raise

    async def _check_one_lost(self, execution_id: str) -> None:
        """Retry or fail an execution nobody announced for a while, unless it ended or waits in the queue."""
        assert self.store is not None and self.js is not None
        record = self.store.get(execution_id)
        if record["status"] in TERMINAL or execution_id in self._inline:
            return
        with contextlib.suppress(NotFoundError):
            await self.js.get_last_msg(DISPATCH_STREAM, dispatch_subject(execution_id))
            return
        with contextlib.suppress(NotFoundError):
            # Its runner finished: the output waits to be stored (by another replica, or redelivered).
            await self.js.get_last_msg(OUTPUT_STREAM, output_subject(execution_id))
            self._last_seen[execution_id] = time.monotonic()
            return
        await self._retry_or_fail(record, "its runner stopped while it ran")

    async def _retry_or_fail(self, record: dict[str, Any], why: str) -> None:
        assert self.store is not None
        execution_id = record["execution_id"]
        if record["attempt"] >= MAX_ATTEMPTS:
            self.finish(
                execution_id,
                "failed",
                {
                    "error": {
                        "message": f"the execution was lost: {why} (attempt {record['attempt']})",
                        "type": "ExecutionLost",
                    }
                },
            )
            return
        if record["execution_mode"] != "inline":
            await self.kill(execution_id, "failed", attempt=int(record["attempt"]))
        self._held.pop(execution_id, None)
        await self._drop_input_consumers(execution_id)
        if self.store.retry(execution_id, int(record["attempt"])):
            await self.start_execution(self.store.get(execution_id), self._spec_of(record))

    async def _drop_input_consumers(self, execution_id: str) -> None:
        """Delete consumers a lost attempt left on its input subject (a work queue allows one per subject)."""
        assert self.js is not None
        subject = input_subject(execution_id)
        with contextlib.suppress(Exception):
            for info in await self.js.consumers_info(INPUT_STREAM):
                if info.config.filter_subject == subject:
                    await self.js.delete_consumer(INPUT_STREAM, info.name)

    def _spec_of(self, record: dict[str, Any]) -> dict[str, Any]:
        assert self.platform is not None
        return self.collaborators.resolve_spec(self.platform, record)


def _start_time(value: Any) -> str | None:
    """The start a runner reports (ISO 8601), never later than now (its clock may be ahead), or None."""
    if not isinstance(value, str):
        return None
    try:
        started = datetime.fromisoformat(value)
    except ValueError:
        return None
    if started.tzinfo is None:
        return None
    return min(started, datetime.now(UTC)).isoformat(timespec="microseconds")


def new_billing_txn_id() -> str:
    """A new billing transaction id."""
    return f"btx_{uuid.uuid4().hex}"
