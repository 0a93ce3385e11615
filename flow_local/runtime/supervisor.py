"""Keep the execution engine's processes alive: nats-server and the local runner.

Both are restarted with backoff (and a log line) when they die; clients reconnect by themselves.
Their pids are recorded in ``<data dir>/run/`` (see :mod:`flow_local.runtime.pidfiles`), and the
survivors of a previous run are reaped before anything starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import time
from pathlib import Path

from flow_local.ports import free_port
from flow_local.runtime import pidfiles
from flow_local.runtime.nats_server import RUNNER_USER, NatsServer
from flow_local.runtime.sandbox import BASE_ENVIRONMENT

logger = logging.getLogger("flow_local.executions")

RESTART_BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
STABLE_AFTER_SECONDS = 30.0
RUNNER_READY_SECONDS = 120.0
RUNNER_STOP_SECONDS = 10.0
RUNNER_PREFIX = "FLOW_LOCAL_RUNNER_"
RUNNER_PASSED = ("HOME", "PYTHONPATH", "TMPDIR")


def backoff(restarts: int) -> float:
    """The wait before restart number ``restarts + 1``."""
    return RESTART_BACKOFF_SECONDS[min(restarts, len(RESTART_BACKOFF_SECONDS) - 1)]


class Supervisor:
    """The engine's child processes on one data directory (create it after :func:`pidfiles.reap`, so the
    port a survivor held is free again and kept).

    Attributes:
        data_dir: The platform's data directory (NATS store, pid files).
        workers: Warm workers of the local runner.
        nats_server: The NATS server (created by :meth:`start_nats`).
    """

    def __init__(self, data_dir: Path, workers: int) -> None:
        self.data_dir = data_dir
        self.workers = workers
        store_dir = data_dir / "nats"
        self.nats_server = NatsServer(store_dir, port=kept_port(store_dir / "port"))
        self._runner: asyncio.subprocess.Process | None = None
        self._stopping = False
        self._nats_restarts = 0
        self._runner_restarts = 0

    @property
    def runner_pid(self) -> int | None:
        """The process id of the local runner while it runs."""
        runner = self._runner
        return runner.pid if runner is not None and runner.returncode is None else None

    async def start_nats(self) -> None:
        """Start nats-server and record its pid."""
        await self.nats_server.start()
        if self.nats_server.pid is not None:
            pidfiles.record(self.data_dir, "nats-server", self.nats_server.pid)

    async def check_nats(self) -> bool:
        """Restart nats-server when it died (same port and store); True when it was restarted."""
        if self._stopping or not self.nats_server.exited():
            return False
        delay = backoff(self._nats_restarts)
        self._nats_restarts += 1
        logger.warning("nats-server exited; restarting it in %.1f s (restart %d)", delay, self._nats_restarts)
        await asyncio.sleep(delay)
        await self.start_nats()
        return True

    async def supervise_runner(self) -> None:
        """Keep the local runner running: start it, and restart it with backoff whenever it exits."""
        while not self._stopping:
            started = time.monotonic()
            try:
                await self._run_runner()
            except Exception:
                logger.exception("the local runner failed to start")
            if self._stopping:
                return
            if time.monotonic() - started > STABLE_AFTER_SECONDS:
                self._runner_restarts = 0
            delay = backoff(self._runner_restarts)
            self._runner_restarts += 1
            code = None if self._runner is None else self._runner.returncode
            logger.warning("the local runner exited (code %s); restarting it in %.1f s", code, delay)
            await asyncio.sleep(delay)

    async def _run_runner(self) -> None:
        """Start the runner (its NATS credentials in its environment, never in argv) and wait for its exit."""
        command = [sys.executable, "-m", "flow_local.runtime.runner", "--workers", str(self.workers)]
        env = runner_environment(self.nats_server.user_url(RUNNER_USER))
        self._runner = await asyncio.create_subprocess_exec(
            *command,
            "--exit-on-stdin-close",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        pidfiles.record(self.data_dir, "runner", self._runner.pid)
        assert self._runner.stdout is not None
        line = await asyncio.wait_for(self._runner.stdout.readline(), RUNNER_READY_SECONDS)
        if line:
            logger.info("%s", line.decode().strip())
        await self._runner.wait()

    async def stop_runner(self) -> None:
        """Stop supervising; close the runner's stdin (it exits) and kill it when it lingers."""
        self._stopping = True
        runner = self._runner
        if runner is not None and runner.returncode is None:
            assert runner.stdin is not None
            runner.stdin.close()
            try:
                await asyncio.wait_for(runner.wait(), RUNNER_STOP_SECONDS)
            except TimeoutError:
                runner.kill()
                await runner.wait()
        pidfiles.forget(self.data_dir, "runner")

    async def stop_nats(self) -> None:
        """Stop nats-server for good."""
        self._stopping = True
        await self.nats_server.stop()
        pidfiles.forget(self.data_dir, "nats-server")


def runner_environment(nats_url: str) -> dict[str, str]:
    """The runner's environment: base variables, its own settings and its NATS URL; nothing naming the
    data directory, nothing else of the platform's (upstream keys), so even an unconfined machine shows
    user code no more than the runner's credentials."""
    env = {name: os.environ[name] for name in (*BASE_ENVIRONMENT, *RUNNER_PASSED) if name in os.environ}
    env.update({name: value for name, value in os.environ.items() if name.startswith(RUNNER_PREFIX)})
    env["NATS_URL"] = nats_url
    return env


def kept_port(path: Path) -> int:
    """The NATS port used last time on this data dir when it is free again, else a new free port.

    The probe sets SO_REUSEADDR as nats-server's own listener does, so the connections a killed server
    leaves in TIME_WAIT do not make the platform move to another port (runners would lose it).
    """
    if path.exists():
        port = int(path.read_text().strip() or 0)
        with contextlib.suppress(OSError):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", port))
            return port
    port = free_port()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(port))
    return port
