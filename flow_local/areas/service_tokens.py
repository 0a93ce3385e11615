"""Minting HSL service tokens: signed, with a TTL, custom claims, audience bound to the target service."""

from __future__ import annotations

import time

from flow_local._generated.models import ServiceToken, ServiceTokenMint
from flow_local.auth import Principal, TokenSigner, minted_ttl
from flow_local.errors import bad_request
from flow_local.values import iso_from_unix


def mint_service_token(
    signer: TokenSigner, caller: Principal, org_id: str, body: ServiceTokenMint
) -> ServiceToken:
    """A service token for ``body.service_id`` (or the calling hosted service), valid ``ttl_minutes``
    (no longer than the caller's own execution token when an execution mints it)."""
    service_id = body.service_id or caller.service_id
    if not service_id:
        raise bad_request("service_id is required when the caller is not a hosted service", "service_id")
    ttl_seconds = minted_ttl(caller, body.ttl_minutes * 60)
    token = signer.mint_service_token(
        org_id=org_id,
        workspace_id=caller.workspace_id,
        service_id=service_id,
        subject=caller.subject,
        claims=dict(body.claims),
        ttl_seconds=ttl_seconds,
        execution_id=caller.execution_id,
    )
    return ServiceToken.model_validate(
        {
            "token": token,
            "token_type": "service_token",
            "service_id": service_id,
            "expires_at": iso_from_unix(int(time.time()) + ttl_seconds),
        }
    )
