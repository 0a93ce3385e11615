"""ServiceHost: the platform component that runs hosted-service versions and forwards calls to them.

It starts one process per deployed version (see :mod:`.process`), restarts the versions recorded as
running when the platform starts again, forwards calls through one pooled httpx client with a signed
``X-Flow-Context`` header, and stops every process with the platform.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from flow_local.runtime import pidfiles
from flow_local.runtime.services.context import CONTEXT_HEADER, JOB_HEADER, CallerContext, sign_context
from flow_local.runtime.services.process import ServiceProcess, ServiceStartError

if TYPE_CHECKING:
    from flow_local.core import Platform

logger = logging.getLogger("flow_local.services")

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        CONTEXT_HEADER,
        JOB_HEADER,
        "x-flow-forwarded-by",
    }
)
FORWARD_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class VersionKey:
    """Identifies one version of one service of one org."""

    org_id: str
    service_id: str
    version: int


@dataclass(frozen=True)
class LaunchSpec:
    """What a version process needs: the app, its source, the runtime variables."""

    key: VersionKey
    app: str
    source_dir: Path
    log_path: Path
    port: int
    context_key: str
    variables: Mapping[str, str]


def _pid_name(key: VersionKey) -> str:
    return f"service-{key.org_id}-{key.service_id}-v{key.version}"


def forward_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Request headers to pass on to a service: all but hop-by-hop and the platform's own."""
    return {name: value for name, value in headers if name.lower() not in HOP_BY_HOP}


class ServiceHost:
    """Runs hosted-service version processes for one platform."""

    def __init__(self, to_restore: Callable[[Platform], list[LaunchSpec]]) -> None:
        self.to_restore = to_restore
        self.platform: Platform | None = None
        self.client: httpx.AsyncClient | None = None
        self._processes: dict[VersionKey, ServiceProcess] = {}
        self._starting: dict[VersionKey, asyncio.Task[ServiceProcess]] = {}

    async def start(self, platform: Platform) -> None:
        """Open the pooled client and restart the versions recorded as running."""
        self.platform = platform
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        self.client = httpx.AsyncClient(
            limits=limits, timeout=httpx.Timeout(FORWARD_TIMEOUT_SECONDS, connect=5.0)
        )
        for spec in self.to_restore(platform):
            self._starting[spec.key] = asyncio.create_task(self._launch(spec))

    async def stop(self) -> None:
        """Stop every version process and close the client."""
        for task in self._starting.values():
            task.cancel()
        processes, self._processes = dict(self._processes), {}
        await asyncio.gather(*(self._terminate(key, p) for key, p in processes.items()))
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    def _client(self) -> httpx.AsyncClient:
        if self.client is None:
            raise RuntimeError("the service host is not started")
        return self.client

    async def _launch(self, spec: LaunchSpec) -> ServiceProcess:
        process = ServiceProcess(spec.app, spec.source_dir, spec.port, spec.context_key, spec.log_path)
        process.spawn(dict(spec.variables))
        assert process.popen is not None and self.platform is not None
        pidfiles.record(self.platform.settings.data_dir, _pid_name(spec.key), process.popen.pid)
        try:
            await process.wait_healthy(self._client())
        except BaseException:
            await self._terminate(spec.key, process)
            raise
        self._processes[spec.key] = process
        return process

    async def launch(self, spec: LaunchSpec) -> ServiceProcess:
        """Start a version and wait until it is healthy.

        Raises:
            ServiceStartError: It exited or never answered (the message holds its last log lines).
        """
        task = asyncio.create_task(self._launch(spec))
        self._starting[spec.key] = task
        try:
            return await task
        finally:
            self._starting.pop(spec.key, None)

    async def process(self, key: VersionKey) -> ServiceProcess | None:
        """The running process of a version (waiting for one that is starting), or None."""
        starting = self._starting.get(key)
        if starting is not None:
            try:
                await asyncio.shield(starting)
            except (ServiceStartError, asyncio.CancelledError):
                return None
            finally:
                if starting.done():
                    self._starting.pop(key, None)
        found = self._processes.get(key)
        return found if found is not None and found.alive else None

    async def halt(self, key: VersionKey) -> None:
        """Stop a version's process (nothing when it does not run)."""
        task = self._starting.pop(key, None)
        if task is not None:
            task.cancel()
        process = self._processes.pop(key, None)
        if process is not None:
            await self._terminate(key, process)

    async def _terminate(self, key: VersionKey, process: ServiceProcess) -> None:
        """Stop a version's process and drop its pid file."""
        await asyncio.to_thread(process.terminate)
        if self.platform is not None:
            pidfiles.forget(self.platform.settings.data_dir, _pid_name(key))

    async def healthy(self, key: VersionKey) -> bool:
        """True when the version's process answers its health check."""
        process = self._processes.get(key)
        return process is not None and await process.check_health(self._client())

    async def send(
        self,
        process: ServiceProcess,
        method: str,
        path: str,
        *,
        caller: CallerContext,
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        content: bytes | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send one request to a version process with the signed caller context.

        Raises:
            httpx.HTTPError: The process could not be reached.
        """
        outgoing = dict(headers or {})
        outgoing[CONTEXT_HEADER] = sign_context(caller, process.context_key)
        outgoing["x-request-id"] = caller.request_id
        if caller.job_id:
            outgoing[JOB_HEADER] = caller.job_id
        url = f"{process.url}/{path.lstrip('/')}"
        request = self._client().build_request(method, url, headers=outgoing, params=params, content=content)
        return await self._client().send(request, stream=stream)

    async def fetch_openapi(self, process: ServiceProcess, caller: CallerContext) -> dict[str, Any] | None:
        """The app's ``/openapi.json`` (None when it has none)."""
        try:
            response = await self.send(process, "GET", "/openapi.json", caller=caller)
        except httpx.HTTPError:
            logger.warning("cannot fetch /openapi.json from %s", process.url)
            return None
        if response.status_code != 200:
            return None
        try:
            document = response.json()
        except ValueError:
            return None
        return document if isinstance(document, dict) else None
