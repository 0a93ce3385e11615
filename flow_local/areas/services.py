"""Hosted services: deploy numbered versions of an ASGI app, health, logs, skills, and the service proxy.

A service is a ``hosted_service`` resource of a workspace; the first deploy creates it (id = the
service id, name = the service id) unless it was created through the resources API before. Each
deploy is a new version (1, 2, ...; numbers are never reused) running in its own process; an
undeployed version stays listed as ``stopped``. Calls go to
``/api/v1/orgs/{org}/services/{service_id}[/v{version}]/{path}`` (the latest running version when no
version is given), where the platform checks the caller and forwards the request.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from flow_local._generated.models import (
    HostedServiceDeploy,
    HostedServiceHealth,
    HostedServiceLogs,
    HostedServiceVersion,
    ServiceSkills,
    ServiceToken,
    ServiceTokenMint,
)
from flow_local._generated.routers._support import RawBody
from flow_local._generated.routers.services import INVOKE_SERVICE_VERSION_GET_PATH, ServicesOperations
from flow_local.areas.resources import ResourcesBackend
from flow_local.areas.service_tokens import mint_service_token
from flow_local.auth import require_user, require_workspace
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.db import from_json, to_json
from flow_local.errors import ApiError, conflict, not_found
from flow_local.paging import Keyset, announce, select_page
from flow_local.ports import free_port
from flow_local.runtime.services.context import CallerContext, new_context_key
from flow_local.runtime.services.host import LaunchSpec, ServiceHost, VersionKey, forward_headers
from flow_local.runtime.services.inbound import caller_context
from flow_local.runtime.services.process import ServiceProcess, ServiceStartError
from flow_local.runtime.services.process import tail as tail_lines
from flow_local.runtime.services.skills import skills_from_openapi
from flow_local.runtime.services.sources import materialize
from flow_local.values import now_iso

SCHEMA = [
    "CREATE TABLE hosted_service_versions (org_id TEXT NOT NULL, workspace_id TEXT NOT NULL,"
    " service_id TEXT NOT NULL, version INTEGER NOT NULL, app TEXT NOT NULL, status TEXT NOT NULL,"
    " component_id TEXT NOT NULL, env TEXT NOT NULL, skills TEXT, error TEXT, created_at TEXT NOT NULL,"
    " PRIMARY KEY (org_id, service_id, version))",
]
VERSIONS_ORDER = Keyset("hosted_service_versions", ("version",), integers=("version",))
"""Oldest version first; a version number is unique within its service."""
RUNTIME_TOKEN_TTL_SECONDS = 7 * 24 * 3600
_RESPONSE_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "x-request-id"})
PLATFORM_CALLER = CallerContext(subject_id="platform", scopes=[], token_type="platform")


class HostedServicesBackend(ServicesOperations[Call]):
    """Versions of hosted services (SQLite) and their source and log files (data dir)."""

    def __init__(self, platform: Platform) -> None:
        platform.db.migrate("hosted_services", SCHEMA)
        self.platform = platform
        self.db = platform.db
        self.root = platform.settings.data_dir / "services"

    # -- files --------------------------------------------------------------------------------------
    def version_dir(self, org_id: str, service_id: str, version: int) -> Path:
        """Directory of one version (``src/`` and ``service.log``)."""
        return self.root / org_id / service_id / f"v{version}"

    def log_path(self, org_id: str, service_id: str, version: int) -> Path:
        """The log file of one version."""
        return self.version_dir(org_id, service_id, version) / "service.log"

    # -- services -----------------------------------------------------------------------------------
    def ensure_service(self, org_id: str, workspace_id: str, service_id: str) -> dict[str, Any]:
        """The ``hosted_service`` resource, created on first deploy (409 if another workspace has it)."""
        resources = self.platform.backend(ResourcesBackend)
        try:
            found = resources.find_in_org(org_id, "hosted_service", service_id)
        except ApiError:
            try:
                return resources.create(
                    org_id, workspace_id, "hosted_service", {"id": service_id, "name": service_id}
                )
            except ApiError as exc:  # created meanwhile by a concurrent deploy
                if exc.status != 409:
                    raise
                found = resources.find_in_org(org_id, "hosted_service", service_id)
        owner = self.workspace_of(org_id, service_id, required=False)
        if owner is not None and owner != workspace_id:
            raise conflict(f"hosted service '{service_id}' belongs to another workspace of this organization")
        return found

    def workspace_of(self, org_id: str, service_id: str, required: bool = True) -> str | None:
        """The workspace of a service (from its versions or its resource)."""
        row = self.db.query_one(
            "SELECT workspace_id FROM hosted_service_versions WHERE org_id=? AND service_id=? LIMIT 1",
            (org_id, service_id),
        )
        if row is not None:
            return str(row[0])
        row = self.db.query_one(
            "SELECT workspace_id FROM resources WHERE org_id=? AND kind='hosted_service' AND id=?",
            (org_id, service_id),
        )
        if row is None and required:
            raise not_found("hosted service", service_id)
        return str(row[0]) if row is not None else None

    # -- versions -----------------------------------------------------------------------------------
    def add_version(
        self, org_id: str, workspace_id: str, service_id: str, body: HostedServiceDeploy
    ) -> dict[str, Any]:
        """Record a new ``starting`` version with the next number."""
        component_id = body.component_id or service_id
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM hosted_service_versions WHERE org_id=? AND service_id=?",
                (org_id, service_id),
            ).fetchone()
            version = int(row[0])
            conn.execute(
                "INSERT INTO hosted_service_versions (org_id, workspace_id, service_id, version, app, status,"
                " component_id, env, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    org_id,
                    workspace_id,
                    service_id,
                    version,
                    body.app,
                    "starting",
                    component_id,
                    to_json(body.env or {}),
                    now_iso(),
                ),
            )
        return self.version(org_id, service_id, version)

    def set_status(
        self, org_id: str, service_id: str, version: int, status: str, error: str | None = None
    ) -> None:
        """Change a version's status."""
        self.db.execute(
            "UPDATE hosted_service_versions SET status=?, error=? WHERE org_id=? AND service_id=? AND version=?",
            (status, error, org_id, service_id, version),
        )

    def set_skills(self, org_id: str, service_id: str, version: int, skills: dict[str, Any]) -> None:
        """Store a version's skills artifact."""
        self.db.execute(
            "UPDATE hosted_service_versions SET skills=? WHERE org_id=? AND service_id=? AND version=?",
            (to_json(skills), org_id, service_id, version),
        )

    @staticmethod
    def _row(row: Any) -> dict[str, Any]:
        item = dict(row)
        item["env"] = from_json(item["env"], {})
        item["skills"] = from_json(item["skills"])
        return item

    def version(self, org_id: str, service_id: str, version: int) -> dict[str, Any]:
        """One version (404 when absent)."""
        row = self.db.query_one(
            "SELECT * FROM hosted_service_versions WHERE org_id=? AND service_id=? AND version=?",
            (org_id, service_id, version),
        )
        if row is None:
            raise not_found("hosted service version", f"{service_id} v{version}")
        return self._row(row)

    def versions(self, org_id: str, service_id: str) -> list[dict[str, Any]]:
        """Every version of a service, oldest first."""
        rows = self.db.query(
            "SELECT * FROM hosted_service_versions WHERE org_id=? AND service_id=? ORDER BY version",
            (org_id, service_id),
        )
        return [self._row(r) for r in rows]

    def versions_page(
        self, org_id: str, service_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the versions of a service, oldest first, and the cursor of the next page."""
        page = select_page(
            self.db,
            VERSIONS_ORDER,
            "SELECT * FROM hosted_service_versions WHERE org_id=? AND service_id=?",
            (org_id, service_id),
            limit=limit,
            cursor=cursor,
        )
        return [self._row(r) for r in page.rows], page.next_cursor

    def latest_running(self, org_id: str, service_id: str) -> dict[str, Any]:
        """The highest running version (404 when the service has none)."""
        row = self.db.query_one(
            "SELECT * FROM hosted_service_versions WHERE org_id=? AND service_id=? AND status='running'"
            " ORDER BY version DESC LIMIT 1",
            (org_id, service_id),
        )
        if row is None:
            raise not_found("running version of hosted service", service_id)
        return self._row(row)

    # -- processes ----------------------------------------------------------------------------------
    def launch_spec(self, item: dict[str, Any]) -> LaunchSpec:
        """How to start a recorded version: its source, a fresh port and key, the runtime variables."""
        org_id, service_id, version = item["org_id"], item["service_id"], int(item["version"])
        context_key = new_context_key()
        token = self.platform.tokens.mint_service_runtime_token(
            org_id=org_id,
            workspace_id=item["workspace_id"],
            service_id=service_id,
            ttl_seconds=RUNTIME_TOKEN_TTL_SECONDS,
        )
        variables = dict(item["env"])
        variables.update(
            {
                "ORG_ID": org_id,
                "WORKSPACE_ID": item["workspace_id"],
                "SERVICE_ID": service_id,
                "RING_ID": self._ring_of(org_id, item["workspace_id"]),
                "PLATFORM_API_URL": self.platform.url,
                "GATEWAY_URL": self.platform.url,
                "AUTH_TOKEN": token,
                "NATS_URL": self._nats_url(),
                "FLOW_SERVICE_VERSION": str(version),
                "FLOW_SERVICE_COMPONENT_ID": item["component_id"],
                "FLOW_SERVICE_CONTEXT_KEY": context_key,
            }
        )
        return LaunchSpec(
            key=VersionKey(org_id, service_id, version),
            app=item["app"],
            source_dir=self.version_dir(org_id, service_id, version) / "src",
            log_path=self.log_path(org_id, service_id, version),
            port=free_port(),
            context_key=context_key,
            variables=variables,
        )

    def launch_specs_to_restore(self) -> list[LaunchSpec]:
        """Launch specs of every version recorded as running (for a platform restart)."""
        rows = self.db.query("SELECT * FROM hosted_service_versions WHERE status IN ('running', 'starting')")
        return [self.launch_spec(self._row(r)) for r in rows]

    def _ring_of(self, org_id: str, workspace_id: str) -> str:
        rows, _ = self.platform.backend(ResourcesBackend).list_items(org_id, workspace_id, "ring", limit=1)
        return str(rows[0]["id"]) if rows else ""

    def _nats_url(self) -> str:
        url = self.platform.extras.get("nats_url")
        if url:
            return str(url)
        for component in self.platform.components:
            candidate = getattr(component, "nats_url", None) or getattr(component, "url", None)
            if isinstance(candidate, str) and candidate.startswith("nats://"):
                return candidate
        return ""

    # -- operations -------------------------------------------------------------------------------
    async def list_hosted_service_versions(
        self, call: Call, *, org_id: str, workspace_id: str, service_id: str, limit: int, cursor: str | None
    ) -> list[HostedServiceVersion]:
        """Every version of a service, oldest first, a page at a time."""
        self.platform.backend(ResourcesBackend).get(org_id, workspace_id, "hosted_service", service_id)
        items, next_cursor = self.versions_page(org_id, service_id, limit, cursor)
        announce(call.answer_headers, next_cursor)
        return [render_version(self.platform, v) for v in items]

    async def deploy_hosted_service_version(
        self, call: Call, *, org_id: str, workspace_id: str, service_id: str, body: HostedServiceDeploy
    ) -> HostedServiceVersion:
        """Deploy and start the next version."""
        require_user(call.principal, "deploying a hosted service")
        item = await deploy(self.platform, org_id, workspace_id, service_id, body)
        return render_version(self.platform, item)

    async def undeploy_hosted_service_version(
        self, call: Call, *, org_id: str, workspace_id: str, service_id: str, version: int
    ) -> None:
        """Stop a version (it stays listed as ``stopped``)."""
        require_user(call.principal, "undeploying a hosted service")
        self.platform.backend(ResourcesBackend).get(org_id, workspace_id, "hosted_service", service_id)
        self.version(org_id, service_id, version)
        await host_of(self.platform).halt(VersionKey(org_id, service_id, version))
        self.set_status(org_id, service_id, version, "stopped")

    async def get_hosted_service_health(
        self, call: Call, *, org_id: str, workspace_id: str, service_id: str
    ) -> HostedServiceHealth:
        """Each version's status and live health check."""
        self.platform.backend(ResourcesBackend).get(org_id, workspace_id, "hosted_service", service_id)
        host = host_of(self.platform)
        versions, latest = [], None
        for item in self.versions(org_id, service_id):
            running = item["status"] == "running"
            healthy = running and await host.healthy(VersionKey(org_id, service_id, item["version"]))
            versions.append({"version": item["version"], "status": item["status"], "healthy": healthy})
            if running:
                latest = item["version"]
        return HostedServiceHealth.model_validate(
            {"service_id": service_id, "latest_version": latest, "versions": versions}
        )

    async def get_hosted_service_logs(
        self, call: Call, *, org_id: str, workspace_id: str, service_id: str, version: int | None, tail: int
    ) -> HostedServiceLogs:
        """The last lines of a version's output (the latest version by default)."""
        self.platform.backend(ResourcesBackend).get(org_id, workspace_id, "hosted_service", service_id)
        if version is None:
            versions = self.versions(org_id, service_id)
            if not versions:
                raise not_found("deployed version of hosted service", service_id)
            version = int(versions[-1]["version"])
        else:
            self.version(org_id, service_id, version)
        lines = tail_lines(self.log_path(org_id, service_id, version), tail)
        return HostedServiceLogs(service_id=service_id, version=version, lines=lines)

    async def mint_service_token(self, call: Call, *, org_id: str, body: ServiceTokenMint) -> ServiceToken:
        """A token for calling a hosted service."""
        return mint_service_token(self.platform.tokens, call.principal, org_id, body)

    async def get_service_skills(
        self, call: Call, *, org_id: str, service_id: str, version: int | None
    ) -> ServiceSkills:
        """The skills artifact of a version (the latest running one by default)."""
        require_workspace(call.principal, org_id, str(self.workspace_of(org_id, service_id)))
        item = (
            self.version(org_id, service_id, version) if version else self.latest_running(org_id, service_id)
        )
        if item["skills"] is None:
            raise not_found("skills artifact of hosted service version", f"{service_id} v{item['version']}")
        return ServiceSkills.model_validate(item["skills"])

    async def invoke_service_get(self, call: Call, *, org_id: str, service_id: str, path: str) -> Response:
        """Forward a GET to the latest running version."""
        return await forward(self.platform, call, org_id, service_id, None, path, None)

    async def invoke_service_post(
        self, call: Call, *, org_id: str, service_id: str, path: str, body: RawBody
    ) -> Response:
        """Forward a POST to the latest running version."""
        return await forward(self.platform, call, org_id, service_id, None, path, body)

    async def invoke_service_put(
        self, call: Call, *, org_id: str, service_id: str, path: str, body: RawBody
    ) -> Response:
        """Forward a PUT to the latest running version."""
        return await forward(self.platform, call, org_id, service_id, None, path, body)

    async def invoke_service_delete(self, call: Call, *, org_id: str, service_id: str, path: str) -> Response:
        """Forward a DELETE to the latest running version."""
        return await forward(self.platform, call, org_id, service_id, None, path, None)

    async def invoke_service_version_get(
        self, call: Call, *, org_id: str, service_id: str, version: int, path: str
    ) -> Response:
        """Forward a GET to one version."""
        return await forward(self.platform, call, org_id, service_id, version, path, None)

    async def invoke_service_version_post(
        self, call: Call, *, org_id: str, service_id: str, version: int, path: str, body: RawBody
    ) -> Response:
        """Forward a POST to one version."""
        return await forward(self.platform, call, org_id, service_id, version, path, body)

    async def invoke_service_version_put(
        self, call: Call, *, org_id: str, service_id: str, version: int, path: str, body: RawBody
    ) -> Response:
        """Forward a PUT to one version."""
        return await forward(self.platform, call, org_id, service_id, version, path, body)

    async def invoke_service_version_delete(
        self, call: Call, *, org_id: str, service_id: str, version: int, path: str
    ) -> Response:
        """Forward a DELETE to one version."""
        return await forward(self.platform, call, org_id, service_id, version, path, None)


def render_version(platform: Platform, item: dict[str, Any]) -> HostedServiceVersion:
    """A stored version as the document's `HostedServiceVersion`, with the URL that calls it."""
    path = INVOKE_SERVICE_VERSION_GET_PATH.format(
        org_id=item["org_id"], service_id=item["service_id"], version=item["version"], path=""
    )
    return HostedServiceVersion.model_validate({**item, "url": platform.url + path.removesuffix("/")})


def host_of(platform: Platform) -> ServiceHost:
    """The running service host (500 when the platform was built without one)."""
    host = platform.component(ServiceHost)
    if host is None:
        raise ApiError(500, "internal_error", "the service host is not running on this platform")
    return host


async def deploy(
    platform: Platform, org_id: str, workspace_id: str, service_id: str, body: HostedServiceDeploy
) -> dict[str, Any]:
    """Create the next version, start it, wait for health, derive its skills; the version record."""
    backend = platform.backend(HostedServicesBackend)
    host = host_of(platform)
    backend.ensure_service(org_id, workspace_id, service_id)
    item = backend.add_version(org_id, workspace_id, service_id, body)
    version = int(item["version"])
    try:
        materialize(
            backend.version_dir(org_id, service_id, version) / "src", body.app, body.files, body.source_dir
        )
    except ApiError:
        backend.set_status(org_id, service_id, version, "failed", "invalid source")
        shutil.rmtree(backend.version_dir(org_id, service_id, version), ignore_errors=True)
        raise
    try:
        process = await host.launch(backend.launch_spec(item))
    except ServiceStartError as exc:
        backend.set_status(org_id, service_id, version, "failed", str(exc))
        raise ApiError(
            400, "service_start_failed", f"version {version} of '{service_id}' did not start: {exc}"
        ) from exc
    await _store_skills(host, backend, process, org_id, service_id, version)
    backend.set_status(org_id, service_id, version, "running")
    return backend.version(org_id, service_id, version)


async def _store_skills(
    host: ServiceHost,
    backend: HostedServicesBackend,
    process: ServiceProcess,
    org_id: str,
    service_id: str,
    version: int,
) -> None:
    document = await host.fetch_openapi(process, PLATFORM_CALLER)
    backend.set_skills(org_id, service_id, version, skills_from_openapi(document or {}, service_id, version))


async def target_process(
    platform: Platform, org_id: str, service_id: str, version: int | None
) -> ServiceProcess:
    backend = platform.backend(HostedServicesBackend)
    item = (
        backend.version(org_id, service_id, version)
        if version
        else backend.latest_running(org_id, service_id)
    )
    if item["status"] != "running":
        raise not_found("running version of hosted service", f"{service_id} v{item['version']}")
    process = await host_of(platform).process(VersionKey(org_id, service_id, int(item["version"])))
    if process is None:
        raise ApiError(
            502, "bad_gateway", f"version {item['version']} of '{service_id}' is not running; see its logs"
        )
    return process


async def forward(
    platform: Platform,
    call: Call,
    org_id: str,
    service_id: str,
    version: int | None,
    path: str,
    body: RawBody | None,
) -> Response:
    """Forward the call to the service process and stream its answer back (502 when it does not answer).

    A workspace-bound caller reaches only the services of its own workspace (403 otherwise).
    """
    owner = platform.backend(HostedServicesBackend).workspace_of(org_id, service_id)
    require_workspace(call.principal, org_id, str(owner))
    process = await target_process(platform, org_id, service_id, version)
    request = call.request
    try:
        upstream = await host_of(platform).send(
            process,
            request.method,
            path,
            caller=caller_context(call.principal, call.request_id),
            headers=forward_headers(request.headers.items()),
            params=request.query_params.multi_items(),
            content=await body.read() if body is not None else b"",
            stream=True,
        )
    except httpx.HTTPError as exc:
        raise ApiError(
            502, "bad_gateway", f"hosted service '{service_id}' did not answer: {type(exc).__name__}"
        ) from exc
    headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _RESPONSE_HOP_BY_HOP}
    return StreamingResponse(
        upstream.aiter_raw(),
        status_code=upstream.status_code,
        headers=headers,
        background=BackgroundTask(upstream.aclose),
    )
