"""Lazy iteration over a cursor-paged list: one page fetched when the previous one is used up.

A list that pages answers the document's next-cursor header while more items follow; the next page is
the same request with that value as ``cursor``. ``build(cursor)`` builds the request of the page at
``cursor`` (None: the first page) with the generated builder, so filters and page size stay the same.
As in :mod:`flow_sdk._requests`, the twins share everything that does no I/O and only send.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

import httpx

from flow_sdk._errors import ErrorFamily, FlowSDKError, map_http_error
from flow_sdk._generated.client.request import MAX_PAGE_SIZE, NEXT_CURSOR_HEADER, ApiRequest
from flow_sdk._requests import read_result, request_options
from flow_sdk.raw_response import record_response

__all__ = ["MAX_PAGE_SIZE", "PageBuilder", "iterate_pages", "iterate_pages_sync"]

ItemT = TypeVar("ItemT")
PageBuilder = Callable[[str | None], ApiRequest[list[ItemT]]]
"""Builds the request of the page at a cursor (None for the first page)."""


def _read_page(
    api: ApiRequest[list[ItemT]], response: httpx.Response, family: ErrorFamily, cursor: str | None
) -> tuple[list[ItemT], str | None]:
    """The items of one answer and the cursor of the next page (None on the last page).

    Raises:
        FlowSDKError: The answer names the page it answered as the next one (a server fault that
            would otherwise loop for ever).
    """
    record_response(response)
    items = read_result(api, response, family)
    following = response.headers.get(NEXT_CURSOR_HEADER) or None
    if following is not None and following == cursor:
        raise FlowSDKError(
            f"{api.method} {api.path} answered its own cursor as {NEXT_CURSOR_HEADER}; stopping the iteration"
            " instead of asking for the same page again"
        )
    return items, following


async def iterate_pages(
    client: Callable[[], httpx.AsyncClient], build: PageBuilder[ItemT], family: ErrorFamily = "platform"
) -> AsyncIterator[ItemT]:
    """Yield the items of every page, fetching the next page only when the loop reaches it.

    ``client()`` gives the client of the running event loop, asked for each page, so an iterator made
    outside the loop that drives it (the sync twin's) uses that loop's pooled connections.

    Raises:
        FlowSDKError: The typed error of a page that failed.
    """
    cursor: str | None = None
    while True:
        api = build(cursor)
        try:
            response = await client().request(api.method, api.path, **request_options(api))
        except httpx.HTTPError as exc:
            raise map_http_error(exc, family) from exc
        items, cursor = _read_page(api, response, family, cursor)
        for item in items:
            yield item
        if cursor is None:
            return


def iterate_pages_sync(
    client: httpx.Client, build: PageBuilder[ItemT], family: ErrorFamily = "cli"
) -> Iterator[ItemT]:
    """Yield the items of every page with a sync client (see :func:`iterate_pages`)."""
    cursor: str | None = None
    while True:
        api = build(cursor)
        try:
            response = client.request(api.method, api.path, **request_options(api))
        except httpx.HTTPError as exc:
            raise map_http_error(exc, family) from exc
        items, cursor = _read_page(api, response, family, cursor)
        yield from items
        if cursor is None:
            return
