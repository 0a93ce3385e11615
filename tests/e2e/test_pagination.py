"""Cursor pages of the audit log: the platform hands out cursors, the SDK iterates the pages lazily."""

from __future__ import annotations

import httpx
import pytest

from flow_local.areas.audit import AuditBackend
from flow_local.harness import LocalPlatform
from flow_sdk import FlowSDK

RECORDS = 2500


@pytest.fixture(scope="module")
def audited(lp: LocalPlatform) -> list[str]:
    """2,500 audit events of one action in the default workspace; their resource ids, oldest first."""
    assert lp.platform is not None
    audit = lp.platform.backend(AuditBackend)
    ids = [f"item-{n:05d}" for n in range(RECORDS)]
    for resource_id in ids:
        event = {"action": "paged.test", "resource_type": "item", "resource_id": resource_id}
        audit.append(lp.org_id, lp.workspace_id, event, "tester")
    return ids


async def test_iter_walks_every_page_lazily(flow: FlowSDK, audited: list[str]) -> None:
    pages: list[httpx.Request] = []

    async def count(request: httpx.Request) -> None:
        if request.url.path.endswith("/audit/events"):
            pages.append(request)

    flow._http().event_hooks["request"].append(count)
    events = flow.audit.iter(action="paged.test", page_size=1000)
    first = await anext(events)
    assert first["resource_id"] == audited[-1]
    assert len(pages) == 1, "only the first page is fetched before the first item is used"
    rest = [event["resource_id"] async for event in events]
    assert [first["resource_id"], *rest] == audited[::-1]
    assert len(pages) == 3
    assert [r.url.params.get("cursor") is None for r in pages] == [True, False, False]


async def test_list_keeps_its_offset_answer(flow: FlowSDK, audited: list[str]) -> None:
    page = await flow.audit.list(limit=10, offset=5, action="paged.test")
    assert [e["resource_id"] for e in page] == audited[::-1][5:15]


async def test_a_cursor_not_from_the_platform_is_refused_by_name(
    admin: httpx.Client, audited: list[str]
) -> None:
    answer = admin.get("/audit/events", params={"cursor": "nonsense"})
    assert answer.status_code == 400
    assert answer.json()["field"] == "cursor"
    sizes: list[int] = []
    params: dict[str, str | int] = {"action": "paged.test", "limit": 1000}
    while True:
        page = admin.get("/audit/events", params=params)
        sizes.append(len(page.json()))
        if "x-next-cursor" not in page.headers:
            break
        params["cursor"] = page.headers["x-next-cursor"]
    assert sizes == [1000, 1000, 500]
