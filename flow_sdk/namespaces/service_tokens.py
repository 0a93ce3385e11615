"""``flow.service_tokens``: mint HSL service tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flow_sdk._errors import FlowSDKError
from flow_sdk._requests import body_model
from flow_sdk.namespaces._base import Namespace

if TYPE_CHECKING:
    from flow_types import ServiceToken

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
        body = body_model(
            "ServiceTokenMint",
            {
                "claims": claims,
                "ttl_minutes": ttl_minutes,
                "service_id": service_id or self._flow._service_id or None,
            },
        )
        return cast(
            "ServiceToken", await self._call("services", "mint_service_token", self._flow._org(), body=body)
        )
