"""The one execution poller, behind ``await_result``, ``run`` and ``await_execution_result``.

It asks the server to hold each request (``GET .../executions/{id}/result?wait_seconds=N``), so a
finished execution is seen as soon as it finishes and a long one costs one request per ``N`` seconds.
When the server answers early with a non-terminal status (it does not hold, or the status changed), the
poller sleeps ``poll_interval_seconds``, growing towards a cap, before asking again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, overload

from flow_sdk._errors import (
    ExecutionTimeoutError,
    FlowSDKError,
    PlatformExecutionError,
    PlatformNotFoundError,
)
from flow_sdk._generated.types import ExecutionResult

__all__ = [
    "TERMINAL_STATUSES",
    "PollPlan",
    "PollSettings",
    "ResultMode",
    "await_terminal",
    "await_terminal_sync",
    "unwrap_result",
]

TERMINAL_STATUSES = frozenset({"completed", "failed", "timeout", "cancelled"})
ResultMode = Literal["envelope", "output"]
FetchResult = Callable[[float], Awaitable[ExecutionResult]]
FetchResultSync = Callable[[float], ExecutionResult]
StatusCallback = Callable[[ExecutionResult], None]


@dataclass(frozen=True)
class PollSettings:
    """How long and how often to wait for an execution.

    Attributes:
        timeout_seconds: Give up (ExecutionTimeoutError) after this long.
        poll_interval_seconds: First pause after an early non-terminal answer.
        not_found_retry_seconds: Keep retrying a 404 this long (a just-submitted execution may lag).
        max_interval_seconds: Cap of the growing pause.
        max_wait_seconds: Longest server-side hold asked for in one request.
    """

    timeout_seconds: float = 300.0
    poll_interval_seconds: float = 0.5
    not_found_retry_seconds: float = 30.0
    max_interval_seconds: float = 5.0
    max_wait_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.timeout_seconds <= 0:
            raise FlowSDKError(f"timeout_seconds must be positive, got {self.timeout_seconds!r}")
        if self.poll_interval_seconds <= 0:
            raise FlowSDKError(f"poll_interval_seconds must be positive, got {self.poll_interval_seconds!r}")
        if self.not_found_retry_seconds < 0:
            raise FlowSDKError(f"not_found_retry_seconds must be >= 0, got {self.not_found_retry_seconds!r}")


async def sleep(seconds: float) -> None:
    """Pause between polls (a module function so tests can patch it)."""
    await asyncio.sleep(seconds)


class PollPlan:
    """The part of waiting for an execution that does no I/O, shared by the async and sync pollers.

    Per round: :meth:`next_wait` says how long the server may hold the next request (or raises
    ExecutionTimeoutError once the deadline passed); then :meth:`answered` or :meth:`not_found` says how
    long to pause before the next round, or ``None`` to stop (terminal envelope, or a 404 that lasted).
    """

    def __init__(self, execution_id: str, settings: PollSettings) -> None:
        self.execution_id = execution_id
        self.settings = settings
        self.started = time.monotonic()
        self.deadline = self.started + settings.timeout_seconds
        self.interval = settings.poll_interval_seconds
        self.last: ExecutionResult | None = None
        self._asked_at = self.started
        self._wait = 0.0

    def next_wait(self) -> float:
        """Seconds the server may hold the next request; raises ExecutionTimeoutError past the deadline."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _timeout(self.execution_id, self.settings.timeout_seconds, self.last)
        self._wait = round(max(0.0, min(self.settings.max_wait_seconds, remaining)), 3)
        self._asked_at = time.monotonic()
        return self._wait

    def answered(self, envelope: ExecutionResult) -> float | None:
        """None when ``envelope`` is terminal, else the pause before asking again (0 after a held request)."""
        self.last = envelope
        if str(envelope.get("status", "")) in TERMINAL_STATUSES:
            return None
        if time.monotonic() - self._asked_at < self._wait / 2:
            return self._pause()
        return 0.0

    def not_found(self) -> float | None:
        """The pause before asking again about an unknown execution, or None once it stayed unknown too long."""
        if time.monotonic() - self.started >= self.settings.not_found_retry_seconds:
            return None
        return self._pause()

    def _pause(self) -> float:
        pause = min(self.interval, max(0.0, self.deadline - time.monotonic()))
        self.interval = min(self.interval * 1.5, self.settings.max_interval_seconds)
        return pause


async def await_terminal(fetch: FetchResult, execution_id: str, settings: PollSettings) -> ExecutionResult:
    """Wait until an execution reaches a terminal status and return its result envelope.

    Args:
        fetch: Calls ``GET .../result?wait_seconds=<arg>`` and returns the envelope.
        execution_id: The execution (for error messages).
        settings: Timeouts and intervals.

    Returns:
        The terminal envelope (status completed, failed, timeout or cancelled).

    Raises:
        ExecutionTimeoutError: No terminal status within ``timeout_seconds``; carries the last envelope.
        PlatformNotFoundError: The execution stayed unknown longer than ``not_found_retry_seconds``.
    """
    plan = PollPlan(execution_id, settings)
    while True:
        wait = plan.next_wait()
        try:
            envelope = await fetch(wait)
        except PlatformNotFoundError:
            pause = plan.not_found()
            if pause is None:
                raise
        else:
            pause = plan.answered(envelope)
            if pause is None:
                return envelope
        if pause:
            await sleep(pause)


def await_terminal_sync(
    fetch: FetchResultSync,
    execution_id: str,
    settings: PollSettings,
    on_status: StatusCallback | None = None,
) -> ExecutionResult:
    """The sync twin of :func:`await_terminal`; ``on_status`` sees every envelope (for a live display)."""
    plan = PollPlan(execution_id, settings)
    while True:
        wait = plan.next_wait()
        try:
            envelope = fetch(wait)
        except FlowSDKError as exc:
            pause = plan.not_found() if exc.status_code == 404 else None
            if pause is None:
                raise
        else:
            if on_status is not None:
                on_status(envelope)
            pause = plan.answered(envelope)
            if pause is None:
                return envelope
        if pause:
            sync_sleep(pause)


def sync_sleep(seconds: float) -> None:
    """Pause between sync polls (a module function so tests can patch it)."""
    time.sleep(seconds)


def _timeout(
    execution_id: str, timeout_seconds: float, last: ExecutionResult | None
) -> ExecutionTimeoutError:
    status = last.get("status") if last else None
    return ExecutionTimeoutError(
        f"execution {execution_id} did not finish within {timeout_seconds:g} s (last status: {status or 'unknown'})",
        execution_id=execution_id,
        last_status=dict(last) if last else None,
    )


@overload
def unwrap_result(
    envelope: ExecutionResult, result_mode: Literal["envelope"] = "envelope"
) -> ExecutionResult: ...
@overload
def unwrap_result(envelope: ExecutionResult, result_mode: Literal["output"]) -> Any: ...
@overload
def unwrap_result(envelope: ExecutionResult, result_mode: ResultMode) -> Any: ...
def unwrap_result(envelope: ExecutionResult, result_mode: ResultMode = "envelope") -> Any:
    """Return a terminal envelope (or just its output), raising for an unsuccessful execution.

    Args:
        envelope: A terminal result envelope.
        result_mode: ``"envelope"`` returns the whole envelope, ``"output"`` only ``envelope["output"]``.

    Raises:
        PlatformExecutionError: The execution failed or was cancelled; carries the remote message and
            traceback.
        ExecutionTimeoutError: The platform stopped the execution at its deadline.
        FlowSDKError: ``result_mode`` is not one of the two modes.
    """
    if result_mode not in ("envelope", "output"):
        raise FlowSDKError(f"result_mode must be 'envelope' or 'output', got {result_mode!r}")
    status = envelope.get("status")
    execution_id = str(envelope.get("execution_id", ""))
    if status == "timeout":
        raise ExecutionTimeoutError(
            f"execution {execution_id} exceeded its deadline on the platform",
            execution_id=execution_id,
            last_status=dict(envelope),
        )
    if status in ("failed", "cancelled"):
        raise _execution_error(envelope, execution_id, str(status))
    if result_mode == "output":
        return envelope.get("output")
    return envelope


def _execution_error(envelope: ExecutionResult, execution_id: str, status: str) -> PlatformExecutionError:
    error: Mapping[str, Any] = envelope.get("error") or {}
    message = str(error.get("message") or status)
    kind = error.get("type")
    traceback_text = error.get("traceback")
    text = f"execution {execution_id} {status}: {f'{kind}: ' if kind else ''}{message}"
    if traceback_text:
        text += f"\n\nRemote traceback:\n{traceback_text}"
    exc = PlatformExecutionError(text, detail=message, code=f"execution_{status}")
    exc.execution_id = execution_id
    exc.remote_traceback = traceback_text
    exc.result = dict(envelope)
    return exc
