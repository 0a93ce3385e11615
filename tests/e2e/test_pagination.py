"""Cursor pages of every list that grows: the platform hands out cursors, the SDK iterates lazily.

Each list is filled with more items than one page holds (through its backend, in the module's
workspace), then walked with the async iterators (FlowSDK, PlatformClient) and the sync ones
(SyncFlowSDK, CLIClient). The requests are counted where the platform answers them, so the count
is what went over the wire: one page when the first item is taken, the rest only as the loop goes on.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from flow_local.areas.audit import AuditBackend
from flow_local.areas.catalog import CatalogBackend
from flow_local.areas.conversations import ConversationsBackend
from flow_local.areas.executions import ExecutionsBackend, service_of
from flow_local.areas.resources import ResourcesBackend
from flow_local.areas.storage import StorageBackend
from flow_local.harness import LocalPlatform
from flow_sdk import CLIClient, FlowSDK, PlatformClient
from flow_sdk.sync_flow_sdk import SyncFlowSDK

RECORDS = 2500
ITEMS = 250
"""Items of each of the other lists: three pages of 100."""
PAGE = 100


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


@pytest.fixture(scope="module")
def executions(lp: LocalPlatform) -> list[str]:
    """250 finished executions, newest first; half share one creation time (the id breaks the tie)."""
    assert lp.platform is not None
    store = service_of(lp.platform).store
    assert store is not None
    ids = [f"exec-{n:04d}" for n in range(ITEMS)]
    for n, execution_id in enumerate(ids):
        created = (
            "2026-01-01T00:00:00.000000+00:00" if n % 2 else f"2026-01-02T00:00:{n // 10:02d}.{n:06d}+00:00"
        )
        store.insert(
            {
                "execution_id": execution_id,
                "org_id": lp.org_id,
                "workspace_id": lp.workspace_id,
                "component_type": "code_block",
                "component_id": "paged",
                "ring_id": "ring",
                "status": "completed",
                "execution_mode": "isolated",
                "timeout_seconds": 30,
                "billing_txn_id": f"txn-{execution_id}",
                "created_at": created,
            }
        )
    records, _ = store.list(lp.org_id, lp.workspace_id, "completed", ITEMS + 1)
    return [r["execution_id"] for r in records]


@pytest.fixture(scope="module")
def objects(lp: LocalPlatform) -> list[str]:
    """250 objects under ``paged/`` (and one outside the prefix); their keys in key order."""
    assert lp.platform is not None
    storage = lp.platform.backend(StorageBackend)
    keys = [f"paged/{n:04d}.txt" for n in range(ITEMS)]
    for key in [*keys, "other/outside.txt"]:
        storage.put(lp.org_id, key, b"x", "text/plain")
    return keys


@pytest.fixture(scope="module")
def components(lp: LocalPlatform) -> list[str]:
    """250 prompt components; their ids, oldest first."""
    assert lp.platform is not None
    catalog = lp.platform.backend(CatalogBackend)
    ids = [f"prompt-{n:04d}" for n in range(ITEMS)]
    for component_id in ids:
        catalog.create(
            lp.org_id, lp.workspace_id, "prompt", {"id": component_id, "name": component_id, "spec": {}}
        )
    return ids


@pytest.fixture(scope="module")
def resources(lp: LocalPlatform) -> list[str]:
    """250 solution resources; their ids, oldest first."""
    assert lp.platform is not None
    backend = lp.platform.backend(ResourcesBackend)
    ids = [f"solution-{n:04d}" for n in range(ITEMS)]
    for resource_id in ids:
        backend.create(
            lp.org_id, lp.workspace_id, "solution", {"id": resource_id, "name": resource_id, "spec": {}}
        )
    return ids


@pytest.fixture(scope="module")
def conversations(lp: LocalPlatform) -> list[str]:
    """250 conversations; their ids, newest first."""
    assert lp.platform is not None
    backend = lp.platform.backend(ConversationsBackend)
    ids = [
        backend.save(lp.org_id, lp.workspace_id, [{"role": "user", "content": f"{n}"}]) for n in range(ITEMS)
    ]
    return ids[::-1]


# ------------------------------------------------------------------------------------------ audit
async def test_iter_walks_every_page_lazily(
    flow: FlowSDK, audited: list[str], answered: Callable[[type, str], list[dict[str, Any]]]
) -> None:
    pages = answered(AuditBackend, "list_audit_events")
    events = flow.audit.iter(action="paged.test", page_size=1000)
    assert pages == [], "nothing is fetched before the loop starts"
    first = await anext(events)
    assert first["resource_id"] == audited[-1]
    assert len(pages) == 1, "only the first page is fetched before the first item is used"
    rest = [event["resource_id"] async for event in events]
    assert [first["resource_id"], *rest] == audited[::-1]
    assert [p["cursor"] is None for p in pages] == [True, False, False]


def test_sync_audit_iterator_is_lazy_too(
    sync_flow: SyncFlowSDK, audited: list[str], answered: Callable[[type, str], list[dict[str, Any]]]
) -> None:
    pages = answered(AuditBackend, "list_audit_events")
    events = sync_flow.audit.iter(action="paged.test", page_size=1000)
    assert next(events)["resource_id"] == audited[-1]
    assert len(pages) == 1
    assert [e["resource_id"] for e in events] == audited[::-1][1:]
    assert len(pages) == 3


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
    assert sizes == [1000, 1000, 500], "the last page has no cursor, so no empty page is asked for"


# ------------------------------------------------------------------------------------- executions
async def test_executions_iterate_newest_first_a_page_at_a_time(
    lp: LocalPlatform, executions: list[str], answered: Callable[[type, str], list[dict[str, Any]]]
) -> None:
    pages = answered(ExecutionsBackend, "list_executions")
    async with PlatformClient(
        base_url=lp.url, auth_token=lp.admin_token, org_id=lp.org_id, workspace_id=lp.workspace_id
    ) as client:
        found = client.iter_executions(status="completed", page_size=PAGE)
        first = await anext(found)
        assert len(pages) == 1
        rest = [e["execution_id"] async for e in found]
    assert [first["execution_id"], *rest] == executions
    assert len(set(executions)) == ITEMS, "no execution is repeated or skipped across the tie"
    assert len(pages) == 3
    assert all(p["limit"] == PAGE and p["status"] == "completed" for p in pages)


def test_cli_iterates_executions_lazily(
    cli: CLIClient, executions: list[str], answered: Callable[[type, str], list[dict[str, Any]]]
) -> None:
    pages = answered(ExecutionsBackend, "list_executions")
    found = cli.iter_executions(status="completed", page_size=PAGE)
    assert next(found)["execution_id"] == executions[0]
    assert len(pages) == 1
    assert [e["execution_id"] for e in found] == executions[1:]
    assert len(pages) == 3


def test_a_cursor_of_another_list_is_refused(
    lp: LocalPlatform, admin: httpx.Client, executions: list[str], objects: list[str]
) -> None:
    first = admin.get("/executions", params={"limit": PAGE})
    cursor = first.headers["x-next-cursor"]
    storage = admin.get(f"{lp.url}/api/v1/orgs/{lp.org_id}/storage/objects", params={"cursor": cursor})
    assert storage.status_code == 400
    assert storage.json()["field"] == "cursor"
    forged = base64.urlsafe_b64encode(json.dumps(["executions", 1, 2, 3]).encode()).decode()
    assert admin.get("/executions", params={"cursor": forged}).status_code == 400


# ---------------------------------------------------------------------------------------- storage
async def test_storage_iter_is_lazy_and_list_reads_every_page(
    flow: FlowSDK, objects: list[str], answered: Callable[[type, str], list[dict[str, Any]]]
) -> None:
    pages = answered(StorageBackend, "list_storage_objects")
    found = flow.storage.iter("paged/", page_size=PAGE)
    assert (await anext(found))["key"] == objects[0]
    assert len(pages) == 1
    assert [o["key"] async for o in found] == objects[1:]
    assert len(pages) == 3
    listed = await flow.storage.list("paged/")
    assert [o["key"] for o in listed] == objects, "list() still answers every object"


def test_sync_storage_iter(
    sync_flow: SyncFlowSDK, objects: list[str], answered: Callable[[type, str], list[dict[str, Any]]]
) -> None:
    pages = answered(StorageBackend, "list_storage_objects")
    found = sync_flow.storage.iter("paged/", page_size=PAGE)
    assert next(found)["key"] == objects[0]
    assert len(pages) == 1
    found.close()
    assert len(pages) == 1, "closing the iterator early fetches nothing more"
    assert [o["key"] for o in sync_flow.storage.iter("paged/", page_size=PAGE)] == objects


# ---------------------------------------------------------------------- components and resources
def test_cli_iterates_components_and_resources(
    cli: CLIClient,
    components: list[str],
    resources: list[str],
    answered: Callable[[type, str], list[dict[str, Any]]],
) -> None:
    component_pages = answered(CatalogBackend, "list_components")
    resource_pages = answered(ResourcesBackend, "list_resources")
    found = cli.prompts.iter(page_size=PAGE)
    assert next(found)["id"] == components[0]
    assert len(component_pages) == 1
    assert [c["id"] for c in found] == components[1:]
    assert len(component_pages) == 3
    assert [r["id"] for r in cli.solutions.iter(page_size=PAGE)] == resources
    assert len(resource_pages) == 3


# ---------------------------------------------------------------------------------- conversations
async def test_conversations_iterate_newest_first(
    flow: FlowSDK, conversations: list[str], answered: Callable[[type, str], list[dict[str, Any]]]
) -> None:
    pages = answered(ConversationsBackend, "list_conversations")
    found = flow.conversations.iter(page_size=PAGE)
    assert (await anext(found))["id"] == conversations[0]
    assert len(pages) == 1
    assert [c["id"] async for c in found] == conversations[1:]
    assert len(pages) == 3


def test_sync_conversations_iterate(sync_flow: SyncFlowSDK, conversations: list[str]) -> None:
    assert [c["id"] for c in sync_flow.conversations.iter(page_size=PAGE)] == conversations
