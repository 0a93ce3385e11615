"""Minting HSL service tokens: signed, with a TTL, custom claims, audience bound to the target service."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from flow_server_models import ServiceToken, ServiceTokenMint

from flow_local.areas.tenants import check_org
from flow_local.auth import Principal, get_principal, minted_ttl
from flow_local.core import platform_of
from flow_local.errors import bad_request
from flow_local.values import iso_from_unix

router = APIRouter(prefix="/api/v1/orgs/{org_id}/service-tokens", tags=["services"])


@router.post("", status_code=201)
async def mint_service_token(
    org_id: str, body: ServiceTokenMint, request: Request, principal: Principal = Depends(get_principal)
) -> dict[str, Any]:
    """POST /api/v1/orgs/{org_id}/service-tokens."""
    check_org(request, principal, org_id)
    service_id = body.service_id or principal.service_id
    if not service_id:
        raise bad_request("service_id is required when the caller is not a hosted service", "service_id")
    ttl_seconds = minted_ttl(principal, (body.ttl_minutes or 60) * 60)
    token = platform_of(request).tokens.mint_service_token(
        org_id=org_id,
        workspace_id=principal.workspace_id,
        service_id=service_id,
        subject=principal.subject,
        claims=dict(body.claims),
        ttl_seconds=ttl_seconds,
        execution_id=principal.execution_id,
    )
    expires_at = iso_from_unix(int(time.time()) + ttl_seconds)
    return ServiceToken(
        token=token, token_type="service_token", service_id=service_id, expires_at=expires_at
    ).model_dump(mode="json")
