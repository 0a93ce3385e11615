"""The FastAPI application: the explicit route table, the component list and the lifespan.

To add an area, write ``flow_local/areas/<area>.py`` with a ``router`` and append it to
:data:`ROUTERS`; to run something alongside the server (NATS, runners, service hosts), append a
factory returning a :class:`~flow_local.core.PlatformComponent` to :data:`COMPONENT_FACTORIES`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from flow_local.areas import (
    audit,
    auth,
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
    state,
    storage,
    system,
    tenants,
    vector,
)
from flow_local.bootstrap import ensure_defaults
from flow_local.core import Platform, PlatformComponent
from flow_local.errors import install_error_handlers
from flow_local.gateway import routes as gateway
from flow_local.middleware import BodyLimitMiddleware, RequestIdMiddleware
from flow_local.runtime.service import ExecutionService
from flow_local.runtime.services.host import service_host_factory
from flow_local.settings import Settings

logger = logging.getLogger("flow_local")

ROUTERS: list[APIRouter] = [
    system.router,
    auth.router,
    tenants.router,
    catalog.router,
    resources.router,
    state.router,
    secrets.router,
    storage.router,
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

COMPONENT_FACTORIES: list[Callable[[], PlatformComponent]] = [
    ExecutionService,
    service_host_factory,
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
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_request_bytes,
        upload_limit=settings.max_object_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    app.add_middleware(RequestIdMiddleware)
    return app
