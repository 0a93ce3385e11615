"""Wait for many executions with one held request at a time, shared by every awaiting call of a client.

Each awaited result used to hold its own request (``GET .../executions/{id}/result?wait_seconds=N``),
so awaiting 500 executions at once held 500 pooled connections. Here every awaiting call of one client
registers its execution id with the client's :class:`ResultWaiter`, and one loop sends
``POST .../execution-results`` with all the ids still awaited: the server answers as soon as any of
them ends, with every envelope that is terminal by then, and the loop asks again for the rest.

A request that fails without an answer (a keep-alive connection the server had closed) is sent
once more: it only reads. An id registered while a request is held is not in it, so the loop replaces that request with one
for every id, at most once per :data:`RESEND_AFTER_SECONDS` plus :data:`RESEND_PER_ID_SECONDS` for
each id the held request names (a burst of new ids costs a few requests, not one per id). The server drops a request whose caller went away, so nothing is left holding.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from flow_sdk import _polling
from flow_sdk._errors import FlowSDKError, PlatformNotFoundError
from flow_sdk._generated.types import ExecutionResult, ExecutionResults

__all__ = ["RESEND_AFTER_SECONDS", "ResultWaiter", "SendWait"]

SendWait = Callable[[list[str], float], Awaitable[ExecutionResults]]
"""Sends ``POST .../execution-results`` for the ids, held up to the seconds given."""
RESEND_AFTER_SECONDS = 0.005
"""The shortest time a held request stays before it is replaced to add newly awaited ids."""
RESEND_PER_ID_SECONDS = 0.0002
"""Added to that per id the held request names: a request for many ids costs both sides in proportion,
so a burst of submissions replaces a large request less often (500 ids: about every 0.1 s)."""
FIRST_PAUSE_SECONDS = 0.5
MAX_PAUSE_SECONDS = 5.0
"""An answer that came back early with nothing in it (a server that does not hold) is followed by a
pause, growing from the first to the longest, before asking again."""


class ResultWaiter:
    """The awaited executions of one client in one event loop, and the loop that waits for them."""

    def __init__(self, send_wait: SendWait, hold_seconds: float) -> None:
        self._send_wait = send_wait
        self._hold = hold_seconds
        self._pending: dict[str, list[asyncio.Future[ExecutionResult]]] = {}
        self._deadlines: dict[asyncio.Future[ExecutionResult], float] = {}
        self._pause = FIRST_PAUSE_SECONDS
        self._asked: set[str] = set()
        self._request: asyncio.Task[ExecutionResults] | None = None
        self._sent_at = 0.0
        self._resend: asyncio.TimerHandle | None = None
        self._loop: asyncio.Task[None] | None = None
        self._failures = 0

    async def fetch(self, execution_id: str, wait_seconds: float) -> ExecutionResult | None:
        """The terminal envelope of ``execution_id`` if it ends within ``wait_seconds``, else None.

        Raises:
            PlatformNotFoundError: The workspace has no such execution (yet).
            FlowSDKError: The wait request failed.
        """
        future: asyncio.Future[ExecutionResult] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(execution_id, []).append(future)
        self._deadlines[future] = time.monotonic() + wait_seconds
        self._wake()
        try:
            return await asyncio.wait_for(future, wait_seconds)
        except TimeoutError:
            return None
        finally:
            self._forget(execution_id, future)

    def _forget(self, execution_id: str, future: asyncio.Future[ExecutionResult]) -> None:
        self._deadlines.pop(future, None)
        waiting = self._pending.get(execution_id)
        if waiting is not None and future in waiting:
            waiting.remove(future)
            if not waiting:
                del self._pending[execution_id]

    def _wake(self) -> None:
        """Start the loop, or arrange for the held request to be replaced to include new ids."""
        if self._loop is None or self._loop.done():
            self._loop = asyncio.ensure_future(self._run())
            return
        if self._request is None or self._request.done() or self._resend is not None:
            return
        if not self._pending.keys() - self._asked:
            return
        gap = RESEND_AFTER_SECONDS + RESEND_PER_ID_SECONDS * len(self._asked)
        delay = max(0.0, self._sent_at + gap - time.monotonic())
        self._resend = asyncio.get_running_loop().call_later(delay, self._replace)

    def _replace(self) -> None:
        self._resend = None
        if self._request is not None and not self._request.done():
            self._request.cancel()

    async def _run(self) -> None:
        """Ask for the awaited ids until none is left; hand each answer to its callers."""
        while self._pending:
            self._asked = set(self._pending)
            self._sent_at = time.monotonic()
            hold = round(
                max(0.0, min(self._hold, max(self._deadlines.values(), default=0.0) - self._sent_at)), 3
            )
            self._request = asyncio.ensure_future(self._send_wait(sorted(self._asked), hold))
            try:
                answer = await asyncio.shield(self._request)
            except asyncio.CancelledError:
                if not self._request.cancelled():
                    self._request.cancel()
                    raise  # this loop itself was cancelled
                continue  # replaced to include new ids
            except FlowSDKError as exc:
                self._failures += 1
                if exc.status_code is not None or self._failures > 1:
                    self._fail(exc)  # an answer, or the connection failed twice in a row
                continue
            finally:
                if self._resend is not None:
                    self._resend.cancel()
                    self._resend = None
            self._failures = 0
            if self._deliver(answer) or time.monotonic() - self._sent_at >= hold / 2:
                self._pause = FIRST_PAUSE_SECONDS
                continue
            await _polling.sleep(self._pause)  # answered early with nothing: the server did not hold
            self._pause = min(self._pause * 1.5, MAX_PAUSE_SECONDS)

    def _deliver(self, answer: ExecutionResults) -> bool:
        """Hand each envelope and each unknown id to its callers; whether the answer had any."""
        for envelope in answer["results"]:
            for future in self._pending.pop(str(envelope["execution_id"]), []):
                if not future.done():
                    future.set_result(envelope)
        for execution_id in answer["missing"]:
            for future in self._pending.pop(execution_id, []):
                if not future.done():
                    future.set_exception(_not_found(execution_id))
        return bool(answer["results"] or answer["missing"])

    def _fail(self, exc: FlowSDKError) -> None:
        """Hand a failed request's error to every caller it was asked for."""
        for execution_id in self._asked:
            for future in self._pending.pop(execution_id, []):
                if not future.done():
                    future.set_exception(exc)


def _not_found(execution_id: str) -> PlatformNotFoundError:
    return PlatformNotFoundError(f"execution {execution_id} not found", detail="not found", code="not_found")
