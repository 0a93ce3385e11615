"""``flow.service_tokens``: mint service tokens for hosted services."""

from __future__ import annotations

from typing import Any

from flow_sdk._errors import FlowSDKError
from flow_sdk._generated.client.services import build_mint_service_token_request
from flow_sdk._generated.types import ServiceToken, ServiceTokenMint
from flow_sdk.namespaces._base import Namespace

__all__ = ["ServiceTokensNamespace"]


class ServiceTokensNamespace(Namespace):
    """Mint service tokens carrying custom claims."""

    async def mint(
        self, claims: dict[str, Any], *, ttl_minutes: int = 60, service_id: str | None = None
    ) -> ServiceToken:
        """Mint a service token for ``service_id`` (default: this service) (``POST .../service-tokens``)."""
        if not isinstance(claims, dict):
            raise FlowSDKError(
                "claims must be a dict; mint(api_key, claims, ...) was removed, use mint(claims, ttl_minutes=...)"
            )
        body: ServiceTokenMint = {"claims": claims, "ttl_minutes": ttl_minutes}
        target = service_id or self._flow._service_id
        if target:
            body["service_id"] = target
        return await self._send(build_mint_service_token_request(self._flow._org(), body=body))
