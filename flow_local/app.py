"""The FastAPI application: the explicit route table, the component list and the lifespan.

The routes come from ``flow_server_routers``, generated from the OpenAPI document: one router per
tag, calling the backend that implements the tag's ``<Tag>Operations`` Protocol. To add an area,
tag its operations in the document, regenerate, write ``flow_local/areas/<area>.py`` with a backend
class implementing the Protocol and add the pair to :func:`routers`. To run something alongside the
server (NATS, runners, service hosts), append a factory returning a
:class:`~flow_local.core.PlatformComponent` to :data:`COMPONENT_FACTORIES`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI
from flow_server_routers.auth import auth_router
from flow_server_routers.state import state_router
from flow_server_routers.storage import storage_router
from flow_server_routers.system import system_router
from flow_server_routers.tenants import tenants_router
from starlette.requests import Request

from flow_local.areas import (
    audit,
    catalog,
    connectors,
    conversations,
    datasets,
    executions,
    jobs,
    memory,
    resources,
    secrets,
    service_tokens,
    services,
    vector,
)
from flow_local.areas.access import PlatformAccess
from flow_local.areas.auth import AuthBackend
from flow_local.areas.conversations import ConversationsBackend
from flow_local.areas.state import StateBackend
from flow_local.areas.storage import StorageBackend
from flow_local.areas.system import SystemBackend, document_router
from flow_local.areas.tenants import TenantsBackend
from flow_local.bootstrap import ensure_defaults
from flow_local.console import install_console
from flow_local.core import Platform, PlatformComponent, platform_of
from flow_local.errors import install_error_handlers
from flow_local.gateway import routes as gateway
from flow_local.middleware import BodyLimitMiddleware, RequestIdMiddleware, redact_access_log
from flow_local.runtime.collaborators import Collaborators
from flow_local.runtime.service import ExecutionService
from flow_local.runtime.services.host import ServiceHost
from flow_local.settings import Settings

logger = logging.getLogger("flow_local")
BackendT = TypeVar("BackendT")


def backend_of(cls: type[BackendT]) -> Callable[[Request], BackendT]:
    """The function a generated router calls to find the platform's backend of class ``cls``."""

    def backend(request: Request) -> BackendT:
        return platform_of(request).backend(cls)

    return backend


def routers() -> list[APIRouter]:
    """The route table: each generated router with the backend that serves it."""
    access = PlatformAccess()
    return [
        document_router(),
        system_router(backend_of(SystemBackend), access),
        auth_router(backend_of(AuthBackend), access),
        tenants_router(backend_of(TenantsBackend), access),
        *LEGACY_ROUTERS[:2],
        state_router(backend_of(StateBackend), access),
        LEGACY_ROUTERS[2],
        storage_router(backend_of(StorageBackend), access),
        *LEGACY_ROUTERS[3:],
    ]


LEGACY_ROUTERS: list[APIRouter] = [
    catalog.router,
    resources.router,
    secrets.router,
    audit.router,
    conversations.router,
    service_tokens.router,
    gateway.router,
    vector.router,
    memory.router,
    datasets.router,
    connectors.router,
    executions.router,
    services.router,
    jobs.router,
]

UPLOAD_PATHS = re.compile(r"^/api/v1/orgs/[^/]+/(storage/objects/|services/)")
"""Paths whose bodies are uploads (storage objects, calls to hosted services): they get the upload limit."""


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
    return await platform.backend(gateway.GatewayBackend).chat(request)


ENGINE_COLLABORATORS = Collaborators(
    resolve_spec=executions.resolve_spec,
    find_component=executions.find_component,
    save_conversation=_save_conversation,
    submit_child=executions.submit_record,
    chat=_chat,
)
"""What the execution engine calls in the areas (it imports none of them)."""


def execution_engine() -> ExecutionService:
    """The execution engine, given its collaborators."""
    return ExecutionService(ENGINE_COLLABORATORS)


def service_host() -> ServiceHost:
    """The hosted-service host, given how to find the versions to restart."""
    return ServiceHost(
        lambda platform: platform.backend(services.HostedServicesBackend).launch_specs_to_restore()
    )


COMPONENT_FACTORIES: list[Callable[[], PlatformComponent]] = [
    execution_engine,
    service_host,
    jobs.job_runner_factory,
]


def create_app(settings: Settings) -> FastAPI:
    """Build the platform's application for ``settings`` (database ready, defaults bootstrapped)."""
    platform = Platform(settings)
    platform.extras["defaults"] = ensure_defaults(platform)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started: list[PlatformComponent] = []
        try:
            for factory in COMPONENT_FACTORIES:
                component = factory()
                platform.components.append(component)
                await component.start(platform)
                started.append(component)
            yield
        finally:
            for component in reversed(started):
                try:
                    await component.stop()
                    logger.info("stopped %s", type(component).__name__)
                except Exception:
                    logger.exception("stopping %r failed", component)
            platform.components.clear()

    app = FastAPI(
        title="Manifest Platform (local)",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.platform = platform
    install_error_handlers(app)
    for router in routers():
        app.include_router(router)
    install_console(app)
    redact_access_log()
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_request_bytes,
        upload_limit=settings.max_object_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    app.add_middleware(RequestIdMiddleware)
    return app
