"""The base of every FlowSDK namespace: a reference to the SDK and one way to call an endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flow_sdk._requests import endpoint

if TYPE_CHECKING:
    from flow_sdk.flow_sdk import FlowSDK

__all__ = ["Namespace"]


class Namespace:
    """A group of FlowSDK methods bound to one SDK instance."""

    def __init__(self, flow: FlowSDK) -> None:
        self._flow = flow

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    async def _call(
        self, tag: str, operation: str, *args: Any, extra_headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        """Build the request with the generated ``_get_kwargs`` of ``<tag>.<operation>`` and send it."""
        request = endpoint(tag, operation)._get_kwargs(*args, **kwargs)
        return await self._flow._send(request, extra_headers)
