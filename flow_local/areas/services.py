"""Hosted services: deploy numbered versions of an ASGI app, health, logs, skills, and the service proxy.

A service is a ``hosted_service`` resource of a workspace; the first deploy creates it (id = the
service id, name = the service id) unless it was created through the resources API before. Each
deploy is a new version (1, 2, ...; numbers are never reused) running in its own process; an
undeployed version stays listed as ``stopped``. Calls go to
``/api/v1/orgs/{org}/services/{service_id}[/v{version}]/{path}`` (the latest running version when no
version is given), where the platform checks the caller and forwards the request.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Query, Request, Response
from flow_server_models import HostedServiceDeploy, HostedServiceVersion
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from flow_local.areas.resources import ResourcesBackend
from flow_local.areas.tenants import check_org, check_workspace
from flow_local.auth import Principal, get_principal, require_user
from flow_local.core import Platform, platform_of
from flow_local.db import from_json, to_json
from flow_local.errors import ApiError, conflict, not_found, request_id_of
from flow_local.ports import free_port
from flow_local.runtime.services.context import CallerContext, new_context_key
from flow_local.runtime.services.host import LaunchSpec, ServiceHost, VersionKey, forward_headers
from flow_local.runtime.services.inbound import authenticate_caller, caller_context
from flow_local.runtime.services.process import ServiceProcess, ServiceStartError, tail
from flow_local.runtime.services.skills import skills_from_openapi
from flow_local.runtime.services.sources import materialize
from flow_local.values import now_iso

SCHEMA = [
    "CREATE TABLE hosted_service_versions (org_id TEXT NOT NULL, workspace_id TEXT NOT NULL,"
    " service_id TEXT NOT NULL, version INTEGER NOT NULL, app TEXT NOT NULL, status TEXT NOT NULL,"
    " component_id TEXT NOT NULL, env TEXT NOT NULL, skills TEXT, error TEXT, created_at TEXT NOT NULL,"
    " PRIMARY KEY (org_id, service_id, version))",
]
RUNTIME_TOKEN_TTL_SECONDS = 7 * 24 * 3600
_VERSION_PREFIX = re.compile(r"^v([1-9][0-9]*)(?:/(.*))?$", re.DOTALL)
_RESPONSE_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "x-request-id"})
PLATFORM_CALLER = CallerContext(subject_id="platform", scopes=[], token_type="platform")


class HostedServicesBackend:
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
        rows = self.platform.backend(ResourcesBackend).list(org_id, workspace_id, "ring", limit=1)
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


def render_version(platform: Platform, item: dict[str, Any]) -> dict[str, Any]:
    """A stored version as the spec's `HostedServiceVersion`."""
    url = f"{platform.url}/api/v1/orgs/{item['org_id']}/services/{item['service_id']}/v{item['version']}"
    return HostedServiceVersion(
        service_id=item["service_id"],
        version=item["version"],
        app=item["app"],
        status=item["status"],
        created_at=item["created_at"],
        url=url,
    ).model_dump(mode="json")


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


router = APIRouter(tags=["services"])
_MANAGE = "/api/v1/orgs/{org_id}/workspaces/{workspace_id}/hosted-services/{service_id}"


def _backend(request: Request) -> HostedServicesBackend:
    return platform_of(request).backend(HostedServicesBackend)


@router.get(_MANAGE + "/versions")
async def list_hosted_service_versions(
    org_id: str,
    workspace_id: str,
    service_id: str,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> list[dict[str, Any]]:
    """GET .../hosted-services/{service_id}/versions."""
    check_workspace(request, principal, org_id, workspace_id)
    platform_of(request).backend(ResourcesBackend).get(org_id, workspace_id, "hosted_service", service_id)
    return [render_version(platform_of(request), v) for v in _backend(request).versions(org_id, service_id)]


@router.post(_MANAGE + "/versions", status_code=201)
async def deploy_hosted_service_version(
    org_id: str,
    workspace_id: str,
    service_id: str,
    body: HostedServiceDeploy,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../hosted-services/{service_id}/versions: deploy and start the next version."""
    check_workspace(request, principal, org_id, workspace_id)
    require_user(principal, "deploying a hosted service")
    item = await deploy(platform_of(request), org_id, workspace_id, service_id, body)
    return render_version(platform_of(request), item)


@router.delete(_MANAGE + "/versions/{version}", status_code=204)
async def undeploy_hosted_service_version(
    org_id: str,
    workspace_id: str,
    service_id: str,
    version: int,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> Response:
    """DELETE .../versions/{version}: stop the version (it stays listed as ``stopped``)."""
    check_workspace(request, principal, org_id, workspace_id)
    require_user(principal, "undeploying a hosted service")
    platform_of(request).backend(ResourcesBackend).get(org_id, workspace_id, "hosted_service", service_id)
    backend = _backend(request)
    backend.version(org_id, service_id, version)
    await host_of(platform_of(request)).halt(VersionKey(org_id, service_id, version))
    backend.set_status(org_id, service_id, version, "stopped")
    return Response(status_code=204)


@router.get(_MANAGE + "/health")
async def get_hosted_service_health(
    org_id: str,
    workspace_id: str,
    service_id: str,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """GET .../hosted-services/{service_id}/health: each version's status and live health check."""
    check_workspace(request, principal, org_id, workspace_id)
    platform_of(request).backend(ResourcesBackend).get(org_id, workspace_id, "hosted_service", service_id)
    host = host_of(platform_of(request))
    versions, latest = [], None
    for item in _backend(request).versions(org_id, service_id):
        healthy = item["status"] == "running" and await host.healthy(
            VersionKey(org_id, service_id, item["version"])
        )
        versions.append({"version": item["version"], "status": item["status"], "healthy": healthy})
        if item["status"] == "running":
            latest = item["version"]
    return {"service_id": service_id, "latest_version": latest, "versions": versions}


@router.get(_MANAGE + "/logs")
async def get_hosted_service_logs(
    org_id: str,
    workspace_id: str,
    service_id: str,
    request: Request,
    version: int | None = Query(None, ge=1),
    tail_lines: int = Query(200, ge=1, le=10000, alias="tail"),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """GET .../hosted-services/{service_id}/logs: the last lines of a version's output (latest by default)."""
    check_workspace(request, principal, org_id, workspace_id)
    platform_of(request).backend(ResourcesBackend).get(org_id, workspace_id, "hosted_service", service_id)
    backend = _backend(request)
    versions = backend.versions(org_id, service_id)
    if version is None:
        if not versions:
            raise not_found("deployed version of hosted service", service_id)
        version = int(versions[-1]["version"])
    else:
        backend.version(org_id, service_id, version)
    lines = tail(backend.log_path(org_id, service_id, version), tail_lines)
    return {"service_id": service_id, "version": version, "lines": lines}


@router.get("/api/v1/orgs/{org_id}/service-skills/{service_id}")
async def get_service_skills(
    org_id: str,
    service_id: str,
    request: Request,
    version: int | None = Query(None, ge=1),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """GET /api/v1/orgs/{org_id}/service-skills/{service_id}: the stored skills artifact."""
    check_org(request, principal, org_id)
    backend = _backend(request)
    item = (
        backend.version(org_id, service_id, version)
        if version
        else backend.latest_running(org_id, service_id)
    )
    if item["skills"] is None:
        raise not_found("skills artifact of hosted service version", f"{service_id} v{item['version']}")
    return dict(item["skills"])


def split_version(path: str) -> tuple[int | None, str]:
    """``("v2/summarize")`` → ``(2, "summarize")``; a path without a version prefix → ``(None, path)``."""
    match = _VERSION_PREFIX.match(path)
    if match is None:
        return None, path
    return int(match.group(1)), match.group(2) or ""


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


@router.api_route(
    "/api/v1/orgs/{org_id}/services/{service_id}/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
)
async def invoke_service(org_id: str, service_id: str, path: str, request: Request) -> StreamingResponse:
    """Any method on /api/v1/orgs/{org_id}/services/{service_id}[/v{version}]/{path}: forward to the service."""
    platform = platform_of(request)
    principal = authenticate_caller(request, platform.tokens, org_id, service_id)
    version, inner_path = split_version(path)
    process = await target_process(platform, org_id, service_id, version)
    caller = caller_context(principal, request_id_of(request))
    try:
        upstream = await host_of(platform).send(
            process,
            request.method,
            inner_path,
            caller=caller,
            headers=forward_headers(request.headers.items()),
            params=request.query_params.multi_items(),
            content=await request.body(),
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
