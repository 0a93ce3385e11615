"""What API replicas sharing a database and a NATS cluster tell each other about executions.

Every replica consumes the output, events and status streams as one queue group, so each message is
stored by one replica, while callers may wait on any of them. A replica that stores an end or an event
announces it on :data:`NOTICE_SUBJECT` (core NATS, platform user only); every replica wakes its own
waiters, and the one running the execution inline stops it when another replica ended it (a cancel).

What a replica holds in memory is found again by the others: its inline executions are announced in
heartbeats like a runner's (a replica that stops announcing them loses them to a retry, once, by the
same rule as a lost runner), and a periodic sweep of the database dispatches executions a replica
accepted but did not publish before it died, and watches running executions' deadlines. Dispatches
carry a message id, so JetStream drops the second copy when two replicas dispatch one attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from abc import abstractmethod
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.client import JetStreamContext

from flow_local.runtime.store import TERMINAL, ExecutionStore
from flow_local.runtime.streams import decode, encode
from flow_local.runtime.waiters import Waiters
from flow_sdk.runtime_contract import EVENTS_STREAM, HEARTBEAT_SUBJECT

logger = logging.getLogger("flow_local.executions")

NOTICE_SUBJECT = "platform.executions.notices"
"""Core NATS subject of the replicas' notices (``{"execution_id", "kind": "ended" | "event"}``)."""
SWEEP_SECONDS = 5.0
UNDISPATCHED_GRACE_SECONDS = 5.0
"""How old an accepted, unpublished execution is before another replica dispatches it."""
HEARTBEAT_SECONDS = 1.0
EVENTS_CONSUMER = f"platform_{EVENTS_STREAM.lower()}"
CAUGHT_UP_POLL_SECONDS = 0.1


class ReplicaCoordination:
    """The part of the execution engine that exists only with several replicas (a mixin).

    Attributes:
        replica_id: This replica's id in its heartbeats.
    """

    nc: NatsClient | None
    js: JetStreamContext | None
    store: ExecutionStore | None
    waiters: Waiters | None
    _inline: dict[str, asyncio.Task[Any]]
    _last_seen: dict[str, float]
    _deadlines: dict[str, asyncio.TimerHandle]
    replica_id: str = ""
    _next_sweep: float = 0.0
    _ack_floor_lock: asyncio.Lock
    _ack_floor: int
    _ack_floor_at: float

    @abstractmethod
    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a background task owned by the engine."""

    @abstractmethod
    async def start_execution(self, record: dict[str, Any], spec: dict[str, Any]) -> None:
        """Start a stored pending execution."""

    @abstractmethod
    def _spec_of(self, record: dict[str, Any]) -> dict[str, Any]:
        """The component spec an execution runs."""

    @abstractmethod
    def _schedule_deadline(self, execution_id: str, seconds: float) -> None:
        """End an execution with ``timeout`` in ``seconds`` unless it ends first."""

    async def start_replica(self) -> None:
        """Listen to the other replicas and announce this one's inline executions."""
        assert self.nc is not None
        self.replica_id = f"platform-{uuid.uuid4().hex[:8]}"
        self._ack_floor_lock = asyncio.Lock()
        self._ack_floor = 0
        self._ack_floor_at = 0.0
        await self.nc.subscribe(NOTICE_SUBJECT, cb=self._on_notice)
        self._spawn(self._beat())

    def notify(self, execution_id: str, kind: str) -> None:
        """Tell every replica that an execution ended or has a new event (fire and forget)."""
        if self.replica_id and self.nc is not None and self.nc.is_connected:
            body = encode({"execution_id": execution_id, "kind": kind, "replica_id": self.replica_id})
            self._spawn(self._publish_notice(body))

    async def _publish_notice(self, body: bytes) -> None:
        assert self.nc is not None
        with contextlib.suppress(Exception):
            await self.nc.publish(NOTICE_SUBJECT, body)

    async def _on_notice(self, msg: Msg) -> None:
        notice = decode(msg.data)
        if notice.get("replica_id") == self.replica_id:
            return
        execution_id = str(notice.get("execution_id") or "")
        assert self.waiters is not None
        if notice.get("kind") == "ended":
            self.waiters.ended(execution_id)
            task = self._inline.get(execution_id)
            if task is not None:
                task.cancel()
        else:
            self.waiters.new_event(execution_id)

    async def _beat(self) -> None:
        """Announce the inline executions this replica runs, as runners announce theirs."""
        assert self.nc is not None
        while True:
            beat = {"runner_id": self.replica_id, "executions": list(self._inline), "workers": 0}
            with contextlib.suppress(Exception):
                await self.nc.publish(HEARTBEAT_SUBJECT, encode(beat))
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def sweep(self) -> None:
        """Every :data:`SWEEP_SECONDS`: dispatch what a lost replica accepted, and watch what others ran."""
        now = time.monotonic()
        if not self.replica_id or now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_SECONDS
        assert self.store is not None
        cutoff = (datetime.now(UTC) - timedelta(seconds=UNDISPATCHED_GRACE_SECONDS)).isoformat()
        for row in self.store.active_summary():
            execution_id = str(row["execution_id"])
            if row["execution_mode"] == "inline":
                if execution_id not in self._inline:
                    self._last_seen.setdefault(execution_id, now)
            elif not row["dispatched"] and str(row["created_at"]) < cutoff:
                await self._dispatch_left_over(execution_id)
            elif row["status"] == "running":
                # Watched here too: its runner's heartbeats keep it alive; without them it is retried.
                self._last_seen.setdefault(execution_id, now)
                if row["started_mono"] and execution_id not in self._deadlines:
                    remaining = float(row["started_mono"]) + float(row["timeout_seconds"]) - time.time()
                    self._schedule_deadline(execution_id, remaining)

    async def _dispatch_left_over(self, execution_id: str) -> None:
        assert self.store is not None
        record = self.store.get(execution_id)
        if record["status"] in TERMINAL or record["dispatched"]:
            return
        logger.info("dispatching %s, accepted by a replica that did not publish it", execution_id)
        await self.start_execution(record, self._spec_of(record))

    async def events_stored_up_to(self, last_seq: int, timeout: float) -> None:
        """Wait until the replicas' events consumer has acknowledged every event up to ``last_seq``.

        Callers waiting together share one ``CONSUMER.INFO`` request per :data:`CAUGHT_UP_POLL_SECONDS`.
        """
        deadline = time.monotonic() + timeout
        while await self._events_ack_floor() < last_seq and time.monotonic() < deadline:
            await asyncio.sleep(CAUGHT_UP_POLL_SECONDS)

    async def _events_ack_floor(self) -> int:
        """The events consumer's acknowledgement floor, asked at most once per poll interval."""
        assert self.js is not None
        async with self._ack_floor_lock:
            if time.monotonic() - self._ack_floor_at >= CAUGHT_UP_POLL_SECONDS:
                info = await self.js.consumer_info(EVENTS_STREAM, EVENTS_CONSUMER)
                self._ack_floor = int(info.ack_floor.stream_seq or 0) if info.ack_floor is not None else 0
                self._ack_floor_at = time.monotonic()
            return self._ack_floor
