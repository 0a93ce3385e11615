"""Health, and the handwritten OpenAPI document served at ``/openapi.json``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from flow_local._generated.models import Health
from flow_local._generated.routers import API_VERSION
from flow_local._generated.routers.system import SystemOperations
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.spec import load_document

DOCUMENT_PATH = "/openapi.json"


class SystemBackend(SystemOperations[Call]):
    """The platform's health."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    async def get_health(self, call: Call) -> Health:
        """The platform is up, at the document's version."""
        return Health(status="ok", version=API_VERSION)


def document_router() -> APIRouter:
    """The route serving the document itself (it is not an operation of the document)."""
    router = APIRouter()

    @router.get(DOCUMENT_PATH, include_in_schema=False)
    async def openapi_document() -> JSONResponse:
        """The handwritten document (openapi/openapi.yaml) as JSON."""
        return JSONResponse(load_document())

    return router
