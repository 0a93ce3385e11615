"""The runner's handle on one warm worker process: spawn it, hand a job, relay its lines, kill it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from flow_local.runtime.sandbox import BASE_ENVIRONMENT
from flow_local.runtime.worker import WRITABLE_ENV

WORKER_MODULE = "flow_local.runtime.worker"
PROTOCOL_LINE_LIMIT = 64 * 1024 * 1024
KILL_GRACE_SECONDS = 3.0
"""How long a worker told to stop may take to kill its tree before its process group gets SIGKILL."""

OnEvent = Callable[[str, dict[str, Any]], Awaitable[None]]
OnResult = Callable[[dict[str, Any]], Awaitable[None]]


class WorkerDied(Exception):
    """The worker process exited before answering."""

    def __init__(self, returncode: int | None) -> None:
        super().__init__(f"the worker process exited with code {returncode}")
        self.returncode = returncode


def worker_environment() -> dict[str, str]:
    """The worker's environment: base variables only (never the runner's NATS credentials)."""
    env = {name: os.environ[name] for name in BASE_ENVIRONMENT if name in os.environ}
    for name in ("HOME", "PYTHONPATH", "TMPDIR", WRITABLE_ENV):
        if name in os.environ:
            env[name] = os.environ[name]
    env["PYTHONUNBUFFERED"] = "1"
    return env


class WorkerProcess:
    """One ``python -m flow_local.runtime.worker`` child (its own process group), JSON lines over pipes."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.execution_id: str | None = None
        self.confined = False

    @property
    def pid(self) -> int | None:
        """The OS process id, once started."""
        return None if self.process is None else self.process.pid

    async def start(self, ready_timeout: float = 60.0) -> None:
        """Spawn the worker and wait for its ready line."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            WORKER_MODULE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=worker_environment(),
            start_new_session=True,
            limit=PROTOCOL_LINE_LIMIT,
        )
        ready = await asyncio.wait_for(self._read_line(), ready_timeout)
        self.confined = bool(ready.get("confined"))

    async def _read_line(self) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise WorkerDied(await self.process.wait())
        decoded = json.loads(line)
        return decoded if isinstance(decoded, dict) else {}

    async def run(
        self, job: dict[str, Any], message: dict[str, Any], on_event: OnEvent, on_result: OnResult
    ) -> tuple[dict[str, Any] | None, int]:
        """Hand a job and its input over; relay events until the worker reports the child's end.

        ``on_result`` gets the child's result line as soon as it arrives, before the child has exited
        and the worker has cleaned up after it (the caller can publish it meanwhile).

        Returns:
            The child's result line (None when it died without one) and the child's exit code.

        Raises:
            WorkerDied: The worker exited (killed, crashed) before reporting the end.
        """
        assert self.process is not None and self.process.stdin is not None
        self.execution_id = str(job["execution_id"])
        result: dict[str, Any] | None = None
        try:
            self.process.stdin.write((json.dumps({"job": job, "input": message}) + "\n").encode())
            await self.process.stdin.drain()
            while True:
                line = await self._read_line()
                kind = line.get("kind")
                if kind == "event":
                    data = line.get("event_data")
                    await on_event(str(line.get("event_type")), data if isinstance(data, dict) else {})
                elif kind == "result" and result is None:
                    result = line
                    await on_result(line)
                elif kind == "done":
                    return result, int(line.get("exit_code") or 0)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise WorkerDied(await self.process.wait()) from exc
        finally:
            self.execution_id = None

    def kill(self) -> None:
        """Stop the worker and every process below it, whatever session or group they moved to.

        SIGTERM makes the worker (a subreaper) kill its whole tree and exit; should it not be gone
        within :data:`KILL_GRACE_SECONDS`, its process group gets SIGKILL.
        """
        if self.process is None or self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.process.pid, signal.SIGTERM)
        asyncio.get_running_loop().call_later(KILL_GRACE_SECONDS, self._kill_group)

    def _kill_group(self) -> None:
        """SIGKILL the worker's process group (the fallback of :meth:`kill`)."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    async def stop(self) -> None:
        """Close stdin (the worker exits) and reap it, killing it after 2 s."""
        if self.process is None:
            return
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 2.0)
        except TimeoutError:
            self._kill_group()
            await self.process.wait()
