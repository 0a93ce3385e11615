"""The base of every FlowSDK namespace: a reference to the SDK and one way to send a built request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, TypeVar

from flow_sdk._pages import PageBuilder, iterate_pages

if TYPE_CHECKING:
    from flow_sdk._generated.client.request import ApiRequest
    from flow_sdk._requests import RetryMode
    from flow_sdk.flow_sdk import FlowSDK

__all__ = ["Namespace"]

ResultT = TypeVar("ResultT")
ItemT = TypeVar("ItemT")


class Namespace:
    """A group of FlowSDK methods bound to one SDK instance."""

    def __init__(self, flow: FlowSDK) -> None:
        self._flow = flow

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def _pages(self, build: PageBuilder[ItemT]) -> AsyncIterator[ItemT]:
        """Read a list a page at a time: ``build(cursor)`` builds the request of the page at ``cursor``."""
        return iterate_pages(self._flow._http, build)

    async def _send(
        self,
        api: ApiRequest[ResultT],
        *,
        extra_headers: Mapping[str, str] | None = None,
        retry: RetryMode | None = None,
    ) -> ResultT:
        """Send a request built by a generated builder through the SDK's pooled platform client."""
        return await self._flow._send(api, extra_headers=extra_headers, retry=retry)
