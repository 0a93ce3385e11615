"""The page iterators against a fake server (httpx.MockTransport): how they follow and stop."""

from __future__ import annotations

import httpx
import pytest

from flow_sdk import FlowSDKError
from flow_sdk._generated.client.audit import build_list_audit_events_request
from flow_sdk._generated.client.request import NEXT_CURSOR_HEADER, ApiRequest
from flow_sdk._generated.types import AuditEvent
from flow_sdk._pages import iterate_pages, iterate_pages_sync


def _page(cursor: str | None) -> ApiRequest[list[AuditEvent]]:
    return build_list_audit_events_request("org", "ws", limit=2, cursor=cursor)


def _answer(request: httpx.Request) -> httpx.Response:
    """Pages of two events, ``a``-``b``, ``c``-``d``, ``e``; a cursor ``stuck`` is answered with itself."""
    cursor = request.url.params.get("cursor")
    pages = {None: (["a", "b"], "p2"), "p2": (["c", "d"], "p3"), "p3": (["e"], None), "stuck": ([], "stuck")}
    ids, following = pages[cursor]
    headers = {NEXT_CURSOR_HEADER: following} if following else {}
    return httpx.Response(200, json=[{"id": i} for i in ids], headers=headers)


def test_sync_pages_follow_the_cursor_to_the_end() -> None:
    with httpx.Client(base_url="http://platform", transport=httpx.MockTransport(_answer)) as client:
        assert [e["id"] for e in iterate_pages_sync(client, _page)] == ["a", "b", "c", "d", "e"]


async def test_async_pages_follow_the_cursor_to_the_end() -> None:
    async with httpx.AsyncClient(
        base_url="http://platform", transport=httpx.MockTransport(_answer)
    ) as client:
        assert [e["id"] async for e in iterate_pages(lambda: client, _page)] == ["a", "b", "c", "d", "e"]


def test_a_server_answering_the_cursor_it_was_sent_stops_the_loop() -> None:
    def stuck(cursor: str | None) -> ApiRequest[list[AuditEvent]]:
        return _page(cursor or "stuck")

    transport = httpx.MockTransport(_answer)
    with (
        httpx.Client(base_url="http://platform", transport=transport) as client,
        pytest.raises(FlowSDKError, match="answered its own cursor"),
    ):
        list(iterate_pages_sync(client, stuck))
