"""One running hosted-service version: a uvicorn process on a free loopback port, with its log file."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from flow_local.runtime.services.wrapper import HEALTH_PATH

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
RUNTIME_VARIABLES = (
    "ORG_ID",
    "WORKSPACE_ID",
    "AUTH_TOKEN",
    "PLATFORM_API_URL",
    "GATEWAY_URL",
    "SERVICE_ID",
    "EXECUTION_ID",
    "JOB_ID",
    "REQUEST_ID",
    "RING_ID",
    "PARENT_BILLING_TXN_ID",
    "LIFECYCLE_EVENT",
    "NATS_URL",
)


class ServiceStartError(Exception):
    """A version did not come up; the message carries the end of its log."""


def tail(path: Path, lines: int) -> list[str]:
    """The last ``lines`` lines of a text file (empty when it does not exist)."""
    if not path.exists():
        return []
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        return [line.rstrip("\n") for line in deque(handle, maxlen=lines)]


def child_environment(variables: dict[str, str]) -> dict[str, str]:
    """This process's environment without any runtime variable of its own, plus ``variables``."""
    env = {name: value for name, value in os.environ.items() if name not in RUNTIME_VARIABLES}
    env.update(variables)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class ServiceProcess:
    """A started version process.

    Attributes:
        app: ``module:app`` it serves.
        source_dir: Directory the app is imported from.
        port: Loopback port it listens on.
        context_key: Key the platform signs this version's ``X-Flow-Context`` headers with.
        log_path: File receiving its stdout and stderr.
    """

    app: str
    source_dir: Path
    port: int
    context_key: str
    log_path: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Base URL of the process."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.popen is not None and self.popen.poll() is None

    def spawn(self, variables: dict[str, str]) -> None:
        """Start the process with the runtime ``variables``, output appended to the log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "flow_local.runtime.services.serve", "--app", self.app]
        command += ["--port", str(self.port), "--source-dir", str(self.source_dir)]
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.source_dir,
                env=child_environment(variables),
                start_new_session=True,
            )

    async def wait_healthy(self, client: httpx.AsyncClient, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Wait until the health check answers 200.

        Raises:
            ServiceStartError: The process exited or did not answer within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                code = self.popen.returncode if self.popen is not None else None
                raise ServiceStartError(self._failure(f"the service process exited with code {code}"))
            if await self.check_health(client):
                return
            await asyncio.sleep(0.05)
        self.terminate()
        raise ServiceStartError(
            self._failure(f"the service did not answer its health check within {timeout:g} s")
        )

    async def check_health(self, client: httpx.AsyncClient) -> bool:
        """One health check."""
        if not self.alive:
            return False
        try:
            response = await client.get(f"{self.url}{HEALTH_PATH}", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def _failure(self, reason: str) -> str:
        lines = "\n".join(tail(self.log_path, 20))
        return f"{reason}; last log lines:\n{lines}" if lines else reason

    def terminate(self) -> None:
        """SIGTERM the process group, then SIGKILL it if it does not exit in time."""
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        except ProcessLookupError:
            pass
