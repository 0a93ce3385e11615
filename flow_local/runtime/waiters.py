"""Callers waiting for an execution to end or for its next event, woken by asyncio events (no polling)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any

from flow_local.runtime.store import TERMINAL, ExecutionStore


class EndListener:
    """One caller waiting for any of several executions to end: the ids that ended, in order.

    Attributes:
        ended: The ids whose end was stored since the caller started listening.
        woken: Set at the first end.
    """

    def __init__(self) -> None:
        self.ended: list[str] = []
        self.woken = asyncio.Event()

    def end(self, execution_id: str) -> None:
        """Note that ``execution_id`` ended."""
        self.ended.append(execution_id)
        self.woken.set()


class Waiters:
    """Who waits for which execution; the engine wakes them when it stores an end or an event."""

    def __init__(self, store: ExecutionStore) -> None:
        self.store = store
        self._terminal: dict[str, asyncio.Event] = {}
        self._new_event: dict[str, asyncio.Event] = {}
        self._any: dict[str, list[EndListener]] = {}

    def ended(self, execution_id: str) -> None:
        """Wake whoever waits for the end of ``execution_id`` (its terminal state is stored)."""
        event = self._terminal.pop(execution_id, None)
        if event is not None:
            event.set()
        for listener in self._any.pop(execution_id, ()):
            listener.end(execution_id)
        self.new_event(execution_id)

    def new_event(self, execution_id: str) -> None:
        """Wake whoever waits for the next event of ``execution_id``."""
        event = self._new_event.pop(execution_id, None)
        if event is not None:
            event.set()

    async def wait_terminal(
        self, execution_id: str, timeout: float, record: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The execution once terminal, or as it is after ``timeout`` seconds.

        Args:
            execution_id: The execution.
            timeout: Longest wait in seconds.
            record: The execution as just read by the caller (with no ``await`` since), saving a read.
        """
        if record is None:
            record = self.store.get(execution_id)
        if record["status"] in TERMINAL or timeout <= 0:
            return record
        # No await between the read above and registering the waiter: the engine stores ends on this
        # loop too, so it cannot slip in between, and it wakes this event once the end is stored.
        event = self._terminal.setdefault(execution_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return self.store.get(execution_id)

    def wait_any_terminal(
        self, execution_ids: list[str], timeout: float, linger: float = 0.0
    ) -> Awaitable[list[str]]:
        """The ids among ``execution_ids`` that end within ``timeout`` seconds: once one has ended, those
        that end in the next ``linger`` seconds too (so a burst of ends is answered together).

        The caller has just read them, with no ``await`` since, and found none terminal (the engine
        stores ends on this loop). The listener is registered by this call itself, not when the
        returned awaitable first runs: an end stored before then (by a task that runs first once the
        caller yields) is not missed.
        """
        listener = EndListener()
        if timeout > 0:
            for execution_id in execution_ids:
                self._any.setdefault(execution_id, []).append(listener)
        return self._ends_of(listener, execution_ids, timeout, linger)

    async def _ends_of(
        self, listener: EndListener, execution_ids: list[str], timeout: float, linger: float
    ) -> list[str]:
        """Wait on ``listener`` (see :meth:`wait_any_terminal`), then stop listening."""
        if timeout <= 0:
            return []
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener.woken.wait(), timeout)
            if listener.ended and linger > 0 and len(listener.ended) < len(execution_ids):
                await asyncio.sleep(linger)
        finally:
            for execution_id in execution_ids:
                listeners = self._any.get(execution_id)
                if listeners is not None and listener in listeners:
                    listeners.remove(listener)
                    if not listeners:
                        del self._any[execution_id]
        return listener.ended

    async def wait_events(self, execution_id: str, after_seq: int, timeout: float) -> list[dict[str, Any]]:
        """Events after ``after_seq``, waiting up to ``timeout`` for one when there are none yet."""
        events = self.store.events(execution_id, after_seq)
        if events or timeout <= 0 or self.store.get(execution_id)["status"] in TERMINAL:
            return events
        event = self._new_event.setdefault(execution_id, asyncio.Event())
        events = self.store.events(execution_id, after_seq)
        if not events:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
            events = self.store.events(execution_id, after_seq)
        return events
