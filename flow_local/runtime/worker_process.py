"""The runner's handle on one warm worker child process (spawn, hand a job, await the reply, kill)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

WORKER_MODULE = "flow_local.runtime.worker"


class WorkerDied(Exception):
    """The worker process exited before answering."""

    def __init__(self, returncode: int | None) -> None:
        super().__init__(f"the worker process exited with code {returncode}")
        self.returncode = returncode


class WorkerProcess:
    """One ``python -m flow_local.runtime.worker`` child, talking JSON lines over its stdin/stdout."""

    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url
        self.process: asyncio.subprocess.Process | None = None
        self.execution_id: str | None = None

    @property
    def pid(self) -> int | None:
        """The OS process id, once started."""
        return None if self.process is None else self.process.pid

    async def start(self, ready_timeout: float = 60.0) -> None:
        """Spawn the worker and wait for its ready line."""
        env = {**os.environ, "NATS_URL": self.nats_url, "PYTHONUNBUFFERED": "1"}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            WORKER_MODULE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            limit=16 * 1024 * 1024,
        )
        await asyncio.wait_for(self._read_line(), ready_timeout)

    async def _read_line(self) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise WorkerDied(await self.process.wait())
        return json.loads(line)  # type: ignore[no-any-return]

    async def run(self, job: dict[str, Any]) -> dict[str, Any]:
        """Hand a job over and wait for the worker's reply.

        Raises:
            WorkerDied: The worker exited (killed, out of memory, crashed) before answering.
        """
        assert self.process is not None and self.process.stdin is not None
        self.execution_id = str(job["execution_id"])
        try:
            self.process.stdin.write((json.dumps(job) + "\n").encode())
            await self.process.stdin.drain()
            return await self._read_line()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise WorkerDied(await self.process.wait()) from exc
        finally:
            self.execution_id = None

    def kill(self) -> None:
        """Kill the process at once (SIGKILL)."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()

    async def stop(self) -> None:
        """Close stdin (the worker exits) and reap it, killing it after 2 s."""
        if self.process is None:
            return
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 2.0)
        except TimeoutError:
            self.kill()
            await self.process.wait()
