"""The platform's application: the explicit route table, the component list and the lifespan.

The routes come from ``flow_local._generated.routers``, generated from the OpenAPI document: one router per
tag, calling the backend that implements the tag's ``<Tag>Operations`` Protocol. Their routes go in the
application's own route list, looked up through one index (:mod:`flow_local.route_index`). The
application is a plain Starlette one; what is not an operation of the document (the document itself at
``/openapi.json``, the console's pages, the 404 of an unknown path) is served by a FastAPI application
behind it (:func:`pages_app`), so no operation pays for FastAPI's layers. To add an area,
tag its operations in the document, regenerate, write ``flow_local/areas/<area>.py`` with a backend
class implementing the Protocol and add the pair to :func:`routers`. To run something alongside the
server (NATS, runners, service hosts), append a factory returning a
:class:`~flow_local.core.PlatformComponent` to :data:`COMPONENT_FACTORIES`.

The API answers as soon as the database is open: the components start in the background once the
server runs (:mod:`flow_local.startup`), and the routes of the areas that need them wait for them.
Nothing the first answer does not need is imported on the way to it (the execution engine and NATS
client, the console's pages): keep it so, the start-up test checks it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import BaseRoute, Router, compile_path

from flow_local._generated.routers import RAW_BODY_ROUTES
from flow_local._generated.routers._support import OperationRoute
from flow_local._generated.routers.audit import audit_router
from flow_local._generated.routers.auth import auth_router
from flow_local._generated.routers.catalog import catalog_router
from flow_local._generated.routers.connectors import connectors_router
from flow_local._generated.routers.conversations import conversations_router
from flow_local._generated.routers.datasets import datasets_router
from flow_local._generated.routers.executions import executions_router
from flow_local._generated.routers.gateway import gateway_router
from flow_local._generated.routers.jobs import jobs_router
from flow_local._generated.routers.memory import memory_router
from flow_local._generated.routers.resources import resources_router
from flow_local._generated.routers.secrets import secrets_router
from flow_local._generated.routers.services import services_router
from flow_local._generated.routers.state import state_router
from flow_local._generated.routers.storage import storage_router
from flow_local._generated.routers.system import system_router
from flow_local._generated.routers.tenants import tenants_router
from flow_local._generated.routers.vector import vector_router
from flow_local.areas.access import PlatformAccess
from flow_local.areas.audit import AuditBackend
from flow_local.areas.auth import AuthBackend
from flow_local.areas.catalog import CatalogBackend
from flow_local.areas.connectors import ConnectorsBackend
from flow_local.areas.conversations import ConversationsBackend
from flow_local.areas.executions import ExecutionsBackend, find_component, resolve_spec, submit_record
from flow_local.areas.resources import ResourcesBackend
from flow_local.areas.secrets import SecretsBackend
from flow_local.areas.state import StateBackend
from flow_local.areas.storage import StorageBackend
from flow_local.areas.system import SystemBackend, document_router
from flow_local.areas.tenants import TenantsBackend
from flow_local.bootstrap import ensure_defaults
from flow_local.console import console_detours, console_routes, install_console
from flow_local.core import Platform, PlatformComponent, platform_of
from flow_local.errors import install_error_handlers
from flow_local.middleware import PlatformMiddleware, redact_access_log
from flow_local.route_index import RouteIndex
from flow_local.runtime.collaborators import Collaborators
from flow_local.settings import Settings
from flow_local.startup import BackgroundStart, wait_for_components

if TYPE_CHECKING:
    from flow_local.areas.datasets import DatasetsBackend
    from flow_local.areas.jobs import JobsBackend
    from flow_local.areas.memory import MemoryBackend
    from flow_local.areas.services import HostedServicesBackend
    from flow_local.areas.vector import VectorBackend
    from flow_local.gateway.backend import GatewayBackend
    from flow_local.runtime.engine import ExecutionEngine

BackendT = TypeVar("BackendT")


def backend_of(cls: type[BackendT]) -> Callable[[Request], BackendT]:
    """The function a generated router calls to find the platform's backend of class ``cls``."""

    def backend(request: Request) -> BackendT:
        return platform_of(request).backend(cls)

    return backend


def backend_loaded(load: Callable[[], type[BackendT]]) -> Callable[[Request], BackendT]:
    """Like :func:`backend_of`, for a backend whose module ``load`` imports on the first request.

    For the areas whose modules bring heavy libraries (numpy, httpx) that the start does not need.
    """

    def backend(request: Request) -> BackendT:
        return platform_of(request).backend(load())

    return backend


def _vector() -> type[VectorBackend]:
    from flow_local.areas.vector import VectorBackend

    return VectorBackend


def _memory() -> type[MemoryBackend]:
    from flow_local.areas.memory import MemoryBackend

    return MemoryBackend


def _gateway() -> type[GatewayBackend]:
    from flow_local.gateway.backend import GatewayBackend

    return GatewayBackend


def _services() -> type[HostedServicesBackend]:
    from flow_local.areas.services import HostedServicesBackend

    return HostedServicesBackend


def _datasets() -> type[DatasetsBackend]:
    from flow_local.areas.datasets import DatasetsBackend

    return DatasetsBackend


def _jobs() -> type[JobsBackend]:
    from flow_local.areas.jobs import JobsBackend

    return JobsBackend


def routers() -> list[Router]:
    """The route table: each generated router with the backend that serves it."""
    access = PlatformAccess()
    return [
        system_router(backend_of(SystemBackend), access),
        auth_router(backend_of(AuthBackend), access),
        tenants_router(backend_of(TenantsBackend), access),
        catalog_router(backend_of(CatalogBackend), access),
        resources_router(backend_of(ResourcesBackend), access),
        state_router(backend_of(StateBackend), access),
        secrets_router(backend_of(SecretsBackend), access),
        storage_router(backend_of(StorageBackend), access),
        audit_router(backend_of(AuditBackend), access),
        conversations_router(backend_of(ConversationsBackend), access),
        gateway_router(backend_loaded(_gateway), access),
        vector_router(backend_loaded(_vector), access),
        memory_router(backend_loaded(_memory), access),
        datasets_router(backend_loaded(_datasets), access),
        connectors_router(backend_of(ConnectorsBackend), access),
        executions_router(backend_of(ExecutionsBackend), access),
        services_router(backend_loaded(_services), access),
        jobs_router(backend_loaded(_jobs), access),
    ]


COMPONENT_TAGS = frozenset({"executions", "services", "jobs"})
"""The tags whose backends use a component (the engine, the service host, the job runner): their
requests wait until the components run."""


def needs_components(route: BaseRoute) -> bool:
    """True for the route of an operation of a tag in :data:`COMPONENT_TAGS`."""
    return isinstance(route, OperationRoute) and route.tag in COMPONENT_TAGS


def add_routes(app: Starlette, router: Router) -> None:
    """Put ``router``'s routes in the application's own route list, in order.

    Nesting the router would make every request that passes it match route by route twice; the
    generated routers need nothing a nesting adds (no prefix, middleware or lifespan), so their routes
    go in as they are and each request is matched once, in the same order.
    """
    app.router.routes.extend(router.routes)


def _any_route(routes: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern matching the request paths of any of ``routes`` (Starlette route paths)."""
    patterns = (re.sub(r"\(\?P<\w+>", "(?:", compile_path(route)[0].pattern) for route in routes)
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))


UPLOAD_PATHS = _any_route(RAW_BODY_ROUTES)
"""Paths whose bodies the document declares raw (storage objects, calls to hosted services): they get
the upload limit."""


def _save_conversation(
    platform: Platform, record: dict[str, Any], messages: list[dict[str, Any]]
) -> str | None:
    """Store an agent execution's messages as a conversation of its workspace."""
    return platform.backend(ConversationsBackend).save(
        record["org_id"],
        record["workspace_id"],
        messages,
        agent_id=record["component_id"],
        execution_id=record["execution_id"],
    )


async def _chat(platform: Platform, request: dict[str, Any]) -> dict[str, Any]:
    """One chat completion through the gateway."""
    return await platform.backend(_gateway()).chat(request)


ENGINE_COLLABORATORS = Collaborators(
    resolve_spec=resolve_spec,
    find_component=find_component,
    save_conversation=_save_conversation,
    submit_child=submit_record,
    chat=_chat,
)
"""What the execution engine calls in the areas (it imports none of them)."""


def _engine() -> type[ExecutionEngine]:
    from flow_local.runtime.engine import ExecutionEngine  # it brings the NATS client

    return ExecutionEngine


def execution_engine() -> PlatformComponent:
    """The execution engine, given its collaborators."""
    return _engine()(ENGINE_COLLABORATORS)


def service_host() -> PlatformComponent:
    """The hosted-service host, given how to find the versions to restart."""
    from flow_local.runtime.services.host import ServiceHost

    return ServiceHost(lambda platform: platform.backend(_services()).launch_specs_to_restore())


def job_runner() -> PlatformComponent:
    """The job runner."""
    from flow_local.areas.jobs import job_runner_factory

    return job_runner_factory()


COMPONENT_FACTORIES: list[Callable[[], PlatformComponent]] = [
    execution_engine,
    service_host,
    job_runner,
]


def _token_library() -> object:
    import jwt

    return jwt


WARM_UP: tuple[Callable[[], object], ...] = (
    _token_library,
    _engine,
    _services,
    _jobs,
    _gateway,
    _vector,
    _memory,
    _datasets,
    console_routes,
)
"""Run (in a thread) before the components start: the imports no request should wait for."""


def pages_app(platform: Platform) -> FastAPI:
    """What the application serves besides the operations: the document at ``/openapi.json`` and the
    console's pages (FastAPI routes), and the 404 of a path nothing takes."""
    pages = FastAPI(title="Manifest Platform (local)", docs_url=None, redoc_url=None, openapi_url=None)
    pages.state.platform = platform
    install_error_handlers(pages)
    add_routes(pages, document_router())
    install_console(pages)
    return pages


def create_app(settings: Settings) -> Starlette:
    """Build the platform's application for ``settings`` (database ready, defaults bootstrapped)."""
    platform = Platform(settings)
    platform.extras["defaults"] = ensure_defaults(platform)
    starter = BackgroundStart(platform, COMPONENT_FACTORIES, WARM_UP)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        starter.begin()
        try:
            yield
        finally:
            await starter.stop()

    app = Starlette(lifespan=lifespan)
    app.state.platform = platform
    app.state.startup = starter
    install_error_handlers(app)
    for router in routers():
        wait_for_components([route for route in router.routes if needs_components(route)], starter)
        add_routes(app, router)
    # A request no operation takes, not even by its path alone (a 405), goes on to the pages.
    app.router.default = pages_app(platform)
    RouteIndex.install(app.router)
    redact_access_log()
    app.add_middleware(
        PlatformMiddleware,
        limit=settings.max_request_bytes,
        upload_limit=settings.max_object_bytes,
        upload_paths=UPLOAD_PATHS,
        detours=console_detours(),
    )
    return app
