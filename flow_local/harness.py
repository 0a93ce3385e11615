"""LocalPlatform: start a local platform for tests, examples and scripts, in a thread or a subprocess.

    with LocalPlatform() as lp:                 # temporary data dir, free port, background thread
        os.environ.update(lp.env())             # FlowSDK() now talks to it
        ...

``LocalPlatform(subprocess=True)`` runs ``python -m flow_local serve`` instead, so a test can
:meth:`~LocalPlatform.kill` it (SIGKILL) and start another on the same data dir.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess as sp
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn

from flow_local._generated.routers.system import GET_HEALTH_PATH as HEALTH_PATH
from flow_local.auth import SingleKey, TokenSigner
from flow_local.bootstrap import Defaults, admin_token, ensure_defaults, runtime_env
from flow_local.core import Platform
from flow_local.ports import free_port
from flow_local.settings import Settings

if TYPE_CHECKING:
    from flow_local.startup import BackgroundStart

START_TIMEOUT_SECONDS = 30.0


class LocalPlatform:
    """A running local platform with its default org, workspace, dev ring and dev API key."""

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        subprocess: bool = False,
        **settings_overrides: Any,
    ) -> None:
        self._tmp_dir: str | None = None
        if data_dir is None:
            self._tmp_dir = tempfile.mkdtemp(prefix="flow-local-")
            data_dir = self._tmp_dir
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port or free_port(host)
        self.use_subprocess = subprocess
        self.settings = Settings.load(self.data_dir, host=host, port=self.port, **settings_overrides)
        self.platform: Platform | None = None
        self._defaults: Defaults | None = None
        self._signing_key: SingleKey | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.process: sp.Popen[bytes] | None = None
        self._startup: BackgroundStart | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalPlatform:
        """Start the server and wait until it answers its health check."""
        if self.use_subprocess:
            self._bootstrap_here()
            self._start_process()
        else:
            self._start_thread()
        self._wait_ready()
        return self

    def _bootstrap_here(self) -> None:
        platform = Platform(self.settings)
        try:
            self._defaults = ensure_defaults(platform)
            self._signing_key = SingleKey(*platform.tokens.keys.current())
        finally:
            platform.close()

    def _start_thread(self) -> None:
        from flow_local.app import create_app

        app = create_app(self.settings)
        self.platform = app.state.platform
        self._startup = app.state.startup
        self._defaults = self.platform.extras["defaults"]
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="flow-local-server", daemon=True)
        self._thread.start()

    def _start_process(self) -> None:
        log = (self.data_dir / "server.log").open("ab")
        command = [sys.executable, "-m", "flow_local", "serve", "--host", self.host, "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir), "--quiet", "--direct", "--exit-on-stdin-close"]
        # This process holds the only write end of the server's stdin: when it ends, killed or not, the
        # server reads the end of its stdin and shuts down (NATS, runners and services with it).
        self.process = sp.Popen(command, stdin=sp.PIPE, stdout=log, stderr=sp.STDOUT, start_new_session=True)
        log.close()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"the local platform exited with {self.process.returncode}; the end of "
                    f"{self.data_dir}/server.log:\n{self._log_tail()}"
                )
            if self._server is not None and self._thread is not None and not self._thread.is_alive():
                raise RuntimeError("the local platform thread stopped during start")
            try:
                healthy = httpx.get(self.url + HEALTH_PATH, timeout=1.0).status_code == 200
                if healthy and (self._server is None or self._server.started):
                    self._wait_components(deadline)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"the local platform did not answer on {self.url} within {START_TIMEOUT_SECONDS}s")

    def _wait_components(self, deadline: float) -> None:
        """In thread mode, wait until the components started in the background run (NATS, runners).

        Raises:
            RuntimeError: They did not start.
        """
        startup = self._startup
        if startup is None:
            return
        if not startup.done.wait(max(0.0, deadline - time.monotonic())):
            self.stop()
            raise TimeoutError(
                f"the local platform's components did not start within {START_TIMEOUT_SECONDS}s"
            )
        if startup.error is not None:
            self.stop()
            raise RuntimeError(f"the local platform's components did not start: {startup.error}")

    def _log_tail(self, lines: int = 40) -> str:
        """The last lines of the subprocess's log, so a failed start explains itself."""
        try:
            text = (self.data_dir / "server.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (gracefully) and remove a temporary data dir."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
            self._server = None
            self._thread = None
        if self.platform is not None:
            self.platform.close()
            self.platform = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except sp.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process = None
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
            self._tmp_dir = None

    def kill(self) -> None:
        """SIGKILL the server process (subprocess mode): no shutdown code runs."""
        if self.process is None:
            raise RuntimeError("kill() needs LocalPlatform(subprocess=True)")
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process = None

    def __enter__(self) -> LocalPlatform:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LocalPlatform:
        import asyncio

        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        import asyncio

        await asyncio.to_thread(self.stop)

    # ------------------------------------------------------------------ what clients need
    @property
    def defaults(self) -> Defaults:
        """The default org, workspace, ring and dev API key."""
        if self._defaults is None:
            raise RuntimeError("the local platform is not started")
        return self._defaults

    @property
    def url(self) -> str:
        """Base URL of the platform API and the gateway."""
        return f"http://{self.host}:{self.port}"

    @property
    def org_id(self) -> str:
        """The default organization."""
        return self.defaults.org_id

    @property
    def workspace_id(self) -> str:
        """The default workspace."""
        return self.defaults.workspace_id

    @property
    def ring_id(self) -> str:
        """The dev ring (a ``ring`` resource of the default workspace)."""
        return self.defaults.ring_id

    @property
    def api_key(self) -> str:
        """The dev API key (``fl_...``)."""
        return self.defaults.api_key

    @property
    def admin_token(self) -> str:
        """A user token for the default org, valid 30 days."""
        return admin_token(self._signer_platform(), self.defaults)

    def _signer_platform(self) -> Platform:
        if self.platform is not None:
            return self.platform
        if self._signing_key is None:
            raise RuntimeError("the local platform is not started")
        holder = _SignerOnly(self.settings, self._signing_key)
        return holder  # type: ignore[return-value]

    def env(self) -> dict[str, str]:
        """The runtime variables (PLATFORM_API_URL, GATEWAY_URL, ORG_ID, WORKSPACE_ID, RING_ID, AUTH_TOKEN,
        FLOW_API_KEY) for FlowSDK() against this platform."""
        return runtime_env(self._signer_platform(), self.defaults, self.admin_token)

    def create_tenant(self, org_name: str = "Another organization") -> dict[str, str]:
        """Create another org with one workspace, a dev ring, an API key and a user token (thread mode only).

        Returns:
            ``org_id``, ``workspace_id``, ``ring_id``, ``api_key`` and ``token`` (a user token for the org,
            valid one day).
        """
        from flow_local.areas.resources import ResourcesBackend
        from flow_local.areas.tenants import TenantsBackend

        if self.platform is None:
            raise RuntimeError("create_tenant() needs the in-process (thread) mode")
        tenants = self.platform.backend(TenantsBackend)
        org = tenants.create_org(org_name)
        ws = tenants.add_workspace(org["id"], "default")
        ring = self.platform.backend(ResourcesBackend).create(
            org["id"], ws["id"], "ring", {"name": "dev", "spec": {"stage": "dev"}}
        )
        key = tenants.add_api_key(org["id"], "test key")
        token = self.platform.tokens.mint_user_token("tenant-admin", org["id"], ttl_seconds=24 * 3600)
        return {
            "org_id": org["id"],
            "workspace_id": ws["id"],
            "ring_id": ring["id"],
            "api_key": key["key"],
            "token": token,
        }


class _SignerOnly:
    """What admin_token/runtime_env need from a Platform, without opening the database."""

    def __init__(self, settings: Settings, key: SingleKey) -> None:
        self.settings = settings
        self.tokens = TokenSigner(key)
        self.url = settings.url
