"""Lazy iteration over a cursor-paged list: one page fetched when the previous one is used up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import httpx

from flow_sdk._errors import map_http_error
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._requests import read_result, request_options
from flow_sdk.raw_response import record_response

__all__ = ["NEXT_CURSOR_HEADER", "iterate_pages"]

ItemT = TypeVar("ItemT")
NEXT_CURSOR_HEADER = "x-next-cursor"
"""The answer header naming where the next page starts (absent on the last page)."""


async def iterate_pages(
    client: httpx.AsyncClient, build: Callable[[str | None], ApiRequest[list[ItemT]]]
) -> AsyncIterator[ItemT]:
    """Yield the items of every page; ``build(cursor)`` builds the request of the page at ``cursor``.

    Raises:
        FlowSDKError: The typed error of a page that failed.
    """
    cursor: str | None = None
    while True:
        api = build(cursor)
        try:
            response = await client.request(api.method, api.path, **request_options(api))
        except httpx.HTTPError as exc:
            raise map_http_error(exc, "platform") from exc
        record_response(response)
        for item in read_result(api, response, "platform"):
            yield item
        cursor = response.headers.get(NEXT_CURSOR_HEADER)
        if not cursor:
            return
