"""Health and the handwritten OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from flow_server_models import Health

from flow_local.spec import api_version, load_document

router = APIRouter(tags=["system"])


@router.get("/api/v1/health")
async def get_health() -> dict[str, Any]:
    """GET /api/v1/health."""
    return Health(status="ok", version=api_version()).model_dump(mode="json")


@router.get("/openapi.json", include_in_schema=False)
async def openapi_document() -> JSONResponse:
    """The handwritten document (openapi/openapi.yaml) as JSON."""
    return JSONResponse(load_document())
