"""Send the concurrent submissions of one client together, without delaying a lone one.

Submitting 500 executions at once used to send 500 ``POST .../executions`` requests, each costing both
sides a request's parsing, routing and authentication. A :class:`SubmitBatcher` sends a submission at
once while fewer than :data:`MAX_IN_FLIGHT` submit requests are under way; a submission that arrives
while that many are under way waits for one of them to answer and then leaves with every other one
waiting, in one ``POST .../execution-submissions`` (at most :data:`MAX_BATCH` per request). A lone
submission therefore goes out as it always did, and a burst costs a few requests.

Every submission carries its own idempotency key, so a batch is sent again as it is after a failure
that is safe to retry, and each caller gets its own execution handle or its own typed error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from flow_sdk._errors import FlowSDKError, error_from_item
from flow_sdk._generated.types import ExecutionHandle, ExecutionSubmission, ExecutionSubmissionResults

__all__ = ["MAX_BATCH", "MAX_IN_FLIGHT", "SubmitBatcher"]

MAX_IN_FLIGHT = 2
"""Submit requests under way at once before submissions start to wait and go together."""
MAX_BATCH = 100
"""Submissions in one batch (the document's limit)."""
MAX_BATCHED_BYTES = 64 * 1024
"""A submission larger than this as JSON always goes alone (a batch stays far below any body limit)."""

SendOne = Callable[[ExecutionSubmission], Awaitable[ExecutionHandle]]
SendMany = Callable[[list[ExecutionSubmission]], Awaitable[tuple[ExecutionSubmissionResults, str]]]
"""Sends a batch; returns the answer and the ``METHOD path`` it was sent to (for error messages)."""


class SubmitBatcher:
    """The submissions of one client in one event loop."""

    def __init__(self, send_one: SendOne, send_many: SendMany) -> None:
        self._send_one = send_one
        self._send_many = send_many
        self._in_flight = 0
        self._waiting: list[tuple[ExecutionSubmission, asyncio.Future[ExecutionHandle]]] = []
        self._batches: set[asyncio.Task[None]] = set()

    async def submit(self, submission: ExecutionSubmission) -> ExecutionHandle:
        """Submit one execution; its handle, or the typed error of its submission.

        Raises:
            FlowSDKError: The platform refused this submission, or the request failed.
        """
        if (self._in_flight < MAX_IN_FLIGHT and not self._waiting) or not _batchable(submission):
            self._in_flight += 1
            try:
                return await self._send_one(submission)
            finally:
                self._in_flight -= 1
                self._start_waiting()
        future: asyncio.Future[ExecutionHandle] = asyncio.get_running_loop().create_future()
        self._waiting.append((submission, future))
        try:
            return await future
        finally:
            if not future.done():  # the caller was cancelled before its batch left
                self._waiting = [entry for entry in self._waiting if entry[1] is not future]

    def _start_waiting(self) -> None:
        """Send the waiting submissions, a batch per free request slot."""
        while self._waiting and self._in_flight < MAX_IN_FLIGHT:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            self._in_flight += 1
            task = asyncio.ensure_future(self._send_batch(batch))
            self._batches.add(task)
            task.add_done_callback(self._batches.discard)

    async def _send_batch(
        self, batch: list[tuple[ExecutionSubmission, asyncio.Future[ExecutionHandle]]]
    ) -> None:
        try:
            answer, where = await self._send_many([submission for submission, _future in batch])
            results = answer["results"]
            if len(results) != len(batch):
                raise FlowSDKError(f"{where} answered {len(results)} results for {len(batch)} submissions")
        except BaseException as exc:
            for _submission, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            self._in_flight -= 1
            self._start_waiting()
        for (_submission, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            handle = result.get("handle")
            if result["status"] < 300 and handle is not None:
                future.set_result(handle)
            else:
                future.set_exception(error_from_item(result["status"], result.get("error"), where))


def _batchable(submission: ExecutionSubmission) -> bool:
    """Whether the submission is small enough to travel in a batch."""
    return len(json.dumps(submission["execution"], default=str)) <= MAX_BATCHED_BYTES
