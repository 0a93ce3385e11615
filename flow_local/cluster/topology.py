"""The cluster topology as local processes: API replicas and remote runners on the engines.

:class:`PlatformReplica` is one ``flow platform serve`` process on PostgreSQL, S3 (SeaweedFS) and the
NATS cluster; :class:`RemoteRunner` is one ``flow runner`` process that joins the cluster as the
``runner`` user. :class:`Topology` starts the engines, N replicas sharing one key directory, and M
runners, and can kill or restart any of them, which is what the cluster tests and the scaling benchmark
need::

    with Topology(tmp, replicas=2, runners=2) as topology:
        url = topology.replicas[0].url  # any replica serves any request
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from flow_local.bootstrap import DEV_KEY_FILE
from flow_local.cluster.engines import (
    Engine,
    EngineError,
    NatsCluster,
    PostgresEngine,
    SeaweedEngine,
)
from flow_local.ports import free_port
from flow_local.runtime.nats_server import PLATFORM_USER, RUNNER_USER
from flow_local.runtime.worker import WRITABLE_ENV

DATABASE = "flow"
BUCKET = "flow-objects"
PASSED_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PYTHONPATH")
HEALTH_PATH = "/api/v1/health"


def flow_command() -> str:
    """The ``flow`` executable installed beside this Python."""
    return str(Path(sys.executable).parent / "flow")


def base_environment() -> dict[str, str]:
    """The variables every process of the topology inherits (nothing of the caller's configuration)."""
    return {name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ}


class PlatformReplica(Engine):
    """One ``flow platform serve`` process.

    Attributes:
        port: Its HTTP port (kept across restarts).
        env: Its environment (engine URLs and credentials).
    """

    LOG = "serve.log"

    def __init__(self, root: Path, env: dict[str, str], host: str = "127.0.0.1") -> None:
        super().__init__(root, host)
        self.env = env
        self.port = free_port(host)

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def data_dir(self) -> Path:
        """Its data directory (runner scratch space, upload staging, the dev key)."""
        return self.root / "data"

    def start(self) -> None:
        """Start the replica and wait until it answers its health check."""
        command = [flow_command(), "platform", "serve", "--host", self.host, "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir), "--log-level", "warning"]
        self._spawn(command, self.LOG, env=self.env)
        self._wait("flow platform serve", self._healthy, self.LOG)

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}{HEALTH_PATH}", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL the replica (no shutdown: what it held is left to the other replicas)."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
        self.processes.clear()


class RemoteRunner(Engine):
    """One ``flow runner`` process joining the NATS cluster as the ``runner`` user."""

    LOG = "runner.log"
    READY = b"ready with"

    def __init__(self, root: Path, env: dict[str, str], workers: int, host: str = "127.0.0.1") -> None:
        super().__init__(root, host)
        self.env = env
        self.workers = workers

    def start(self) -> None:
        """Start the runner and wait until its workers are warm."""
        self.root.mkdir(parents=True, exist_ok=True)
        log_path = self.root / self.LOG
        offset = log_path.stat().st_size if log_path.exists() else 0
        self._spawn([flow_command(), "runner", "--workers", str(self.workers)], self.LOG, env=self.env)
        self._wait("flow runner", lambda: self.READY in log_path.read_bytes()[offset:], self.LOG)

    def kill(self) -> None:
        """SIGKILL the runner process; its workers die with it (they are killed when their parent dies)."""
        groups = [process.pid for process in self.processes]
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
        self.processes.clear()
        _kill_groups(groups)

    def stop(self) -> None:
        """Stop the runner (SIGTERM) and make sure no worker of it is left."""
        groups = [process.pid for process in self.processes]
        super().stop()
        _kill_groups(groups)


def _kill_groups(groups: list[int]) -> None:
    """SIGKILL what is left of process groups (a runner's session)."""
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)


class Topology:
    """PostgreSQL, SeaweedFS, a three-node NATS cluster, N API replicas and M remote runners.

    Attributes:
        root: Directory of every process's data and logs.
        postgres: The database server.
        seaweed: The S3 object store.
        nats: The NATS cluster.
        replicas: The API replicas.
        runners: The remote runners.
        writable: A directory code in executions may write (a test's witness), or None.
    """

    def __init__(
        self,
        root: Path,
        replicas: int = 2,
        runners: int = 2,
        workers: int = 2,
        lost_after: float = 10.0,
        writable: Path | None = None,
    ) -> None:
        self.root = root
        self.writable = writable
        self.postgres = PostgresEngine(root / "postgres")
        self.seaweed = SeaweedEngine(root / "seaweed")
        self.nats = NatsCluster(root / "nats")
        self.replicas: list[PlatformReplica] = []
        self.runners: list[RemoteRunner] = []
        self.replica_count = replicas
        self.runner_count = runners
        self.workers = workers
        self.lost_after = lost_after
        self.database_url = ""

    def start(self) -> None:
        """Start the engines, then the replicas one by one, then the runners."""
        self.postgres.start()
        self.seaweed.start()
        self.nats.start()
        self.database_url = self.postgres.create_database(DATABASE)
        for _ in range(self.replica_count):
            self.add_replica()
        for _ in range(self.runner_count):
            self.add_runner()

    def replica_environment(self) -> dict[str, str]:
        """A replica's environment: the engines' URLs and the platform's credentials."""
        return {
            **base_environment(),
            "FLOW_DATABASE_URL": self.database_url,
            "FLOW_OBJECT_STORE_URL": self.seaweed.object_store_url(BUCKET),
            **self.seaweed.credentials_env(),
            "FLOW_NATS_URL": self.nats.url,
            "FLOW_NATS_USER": PLATFORM_USER,
            "FLOW_NATS_PASSWORD": self.nats.credentials[PLATFORM_USER],
            "FLOW_KEY_DIR": str(self.root / "keys"),
            "FLOW_LOCAL_LOST_AFTER_SECONDS": str(self.lost_after),
        }

    def runner_environment(self) -> dict[str, str]:
        """A runner's environment: the cluster's URLs and the runner's credentials, nothing else."""
        return {
            **base_environment(),
            "FLOW_NATS_URL": self.nats.url,
            "FLOW_NATS_USER": RUNNER_USER,
            "FLOW_NATS_PASSWORD": self.nats.credentials[RUNNER_USER],
            **({WRITABLE_ENV: str(self.writable)} if self.writable else {}),
        }

    def add_replica(self) -> PlatformReplica:
        """Start one more replica (after the others: the first one creates the default org)."""
        replica = PlatformReplica(self.root / f"replica-{len(self.replicas)}", self.replica_environment())
        replica.start()
        self.replicas.append(replica)
        return replica

    def add_runner(self) -> RemoteRunner:
        """Start one more runner."""
        runner = RemoteRunner(
            self.root / f"runner-{len(self.runners)}", self.runner_environment(), self.workers
        )
        runner.start()
        self.runners.append(runner)
        return runner

    def engines(self) -> list[Engine]:
        """Every engine and process of the topology."""
        return [self.postgres, self.seaweed, self.nats, *self.replicas, *self.runners]

    @property
    def api_key(self) -> str:
        """The dev API key of the default org (created by the first replica)."""
        return (self.replicas[0].data_dir / DEV_KEY_FILE).read_text().strip()

    def close(self) -> None:
        """Stop everything, runners first, engines last."""
        errors: list[BaseException] = []
        for engine in [*self.runners, *self.replicas, self.nats, self.seaweed, self.postgres]:
            try:
                engine.close()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise EngineError(f"stopping the topology failed: {errors}")

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
