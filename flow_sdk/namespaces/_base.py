"""The base of every FlowSDK namespace: a reference to the SDK and one way to send a built request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from flow_sdk._generated.client.request import ApiRequest
    from flow_sdk._requests import RetryMode
    from flow_sdk.flow_sdk import FlowSDK

__all__ = ["Namespace"]

ResultT = TypeVar("ResultT")


class Namespace:
    """A group of FlowSDK methods bound to one SDK instance."""

    def __init__(self, flow: FlowSDK) -> None:
        self._flow = flow

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    async def _send(
        self,
        api: ApiRequest[ResultT],
        *,
        extra_headers: Mapping[str, str] | None = None,
        retry: RetryMode | None = None,
    ) -> ResultT:
        """Send a request built by a generated builder through the SDK's pooled platform client."""
        return await self._flow._send(api, extra_headers=extra_headers, retry=retry)
