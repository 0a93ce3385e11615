"""One running hosted-service version: a uvicorn process on a free loopback port, with its log file."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from flow_local.runtime.sandbox import BASE_ENVIRONMENT, landlock_abi, preexec_confine, warn_unconfined
from flow_local.runtime.services.wrapper import HEALTH_PATH

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0


class ServiceStartError(Exception):
    """A version did not come up; the message carries the end of its log."""


def tail(path: Path, lines: int) -> list[str]:
    """The last ``lines`` lines of a text file (empty when it does not exist)."""
    if not path.exists():
        return []
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        return [line.rstrip("\n") for line in deque(handle, maxlen=lines)]


def child_environment(variables: dict[str, str], scratch: Path) -> dict[str, str]:
    """A version's whole environment: a few base variables, its scratch paths and ``variables``.

    Nothing else of the platform's environment (upstream API keys, data directory) reaches it.
    """
    env = {name: os.environ[name] for name in BASE_ENVIRONMENT if name in os.environ}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update({"HOME": str(scratch), "TMPDIR": str(scratch), "PYTHONUNBUFFERED": "1"})
    env.update(variables)
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
    scratch: Path | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Base URL of the process."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.popen is not None and self.popen.poll() is None

    def spawn(self, variables: dict[str, str]) -> None:
        """Start the process, confined, with the runtime ``variables``; output appended to the log file.

        It dies with the platform (parent-death signal) and may read only its source and write only
        its scratch directory (:mod:`flow_local.runtime.sandbox`).
        """
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.scratch = Path(tempfile.mkdtemp(prefix="flow-service-"))
        if landlock_abi() == 0:
            warn_unconfined()
        command = [sys.executable, "-m", "flow_local.runtime.services.serve", "--app", self.app]
        command += ["--port", str(self.port), "--source-dir", str(self.source_dir)]
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.source_dir,
                env=child_environment(variables, self.scratch),
                start_new_session=True,
                preexec_fn=functools.partial(preexec_confine, [self.scratch], [self.source_dir]),
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
        finally:
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)
