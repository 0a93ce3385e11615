"""Cursor pages of the smaller lists: tenancy, secrets, datasets, vector indexes, memory namespaces and
the version lists, plus the executions iterator of FlowSDK's execution namespaces.

Each list gets more items than one page of ``PAGE`` holds (written through its backend, or through the
SDK where the backend needs the platform's event loop), then is walked with the SDK's iterators, lazily
(the requests are counted where the platform answers them), and over HTTP, where a made-up cursor or
a cursor of another list is refused with a 400 naming ``cursor``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from flow_local._generated.models import HostedServiceDeploy
from flow_local.areas.catalog import CatalogBackend
from flow_local.areas.datasets import DatasetsBackend
from flow_local.areas.executions import ExecutionsBackend, service_of
from flow_local.areas.memory import MemoryBackend
from flow_local.areas.resources import ResourcesBackend
from flow_local.areas.secrets import SECRETS_ORDER, SecretsBackend
from flow_local.areas.services import VERSIONS_ORDER, HostedServicesBackend
from flow_local.areas.tenants import TenantsBackend
from flow_local.areas.vector import VectorBackend
from flow_local.harness import LocalPlatform
from flow_sdk import CLIClient, FlowSDK, FlowSDKError, PlatformClient
from flow_sdk.cli_client import CLIClientError
from flow_sdk.sync_flow_sdk import SyncFlowSDK

ITEMS = 25
PAGE = 10
"""Page size of the walks: 25 items come in pages of 10, 10 and 5."""
PAGE_SIZES = [PAGE, PAGE, ITEMS - 2 * PAGE]
Answered = Callable[[type, str], list[dict[str, Any]]]


def names(prefix: str) -> list[str]:
    """``ITEMS`` names that sort the same in any collation: ``prefix-00`` ... ``prefix-24``."""
    return [f"{prefix}-{n:02d}" for n in range(ITEMS)]


@pytest.fixture(scope="module")
def secrets(lp: LocalPlatform) -> list[str]:
    """Secrets of the default workspace; their names in name order."""
    assert lp.platform is not None
    backend = lp.platform.backend(SecretsBackend)
    created = names("PAGED_SECRET")
    for name in reversed(created):
        backend.set(lp.org_id, lp.workspace_id, name, "value")
    return created


@pytest.fixture(scope="module")
def datasets(lp: LocalPlatform) -> list[str]:
    """Datasets of the default workspace; their ids, oldest first."""
    assert lp.platform is not None
    backend = lp.platform.backend(DatasetsBackend)
    created = names("paged-dataset")
    for dataset_id in created:
        backend.create(lp.org_id, lp.workspace_id, {"id": dataset_id})
    return created


@pytest.fixture(scope="module")
def indexes(lp: LocalPlatform) -> list[str]:
    """Vector indexes of the default workspace; their names, oldest first."""
    assert lp.platform is not None
    backend = lp.platform.backend(VectorBackend)
    created = names("paged-index")
    for name in created:
        backend.create(lp.org_id, lp.workspace_id, name, 2, "cosine")
    return created


@pytest.fixture(scope="module")
def namespaces(lp: LocalPlatform) -> list[str]:
    """Memory namespaces of one memory each (stored through the SDK); their names in name order."""
    created = names("paged-namespace")
    with SyncFlowSDK(
        org_id=lp.org_id, workspace_id=lp.workspace_id, auth_token=lp.admin_token, platform_url=lp.url
    ) as flow:
        for namespace in reversed(created):
            flow.memory.store(content=f"a memory of {namespace}", namespace=namespace)
    return created


@pytest.fixture(scope="module")
def workspaces(lp: LocalPlatform) -> list[str]:
    """Workspaces of the default organization; their ids, oldest first (the default one first)."""
    assert lp.platform is not None
    backend = lp.platform.backend(TenantsBackend)
    added = [backend.add_workspace(lp.org_id, name)["id"] for name in names("paged-workspace")]
    return [lp.workspace_id, *added]


@pytest.fixture(scope="module")
def api_keys(lp: LocalPlatform) -> list[str]:
    """API keys of the default organization; the ids of every key, oldest first."""
    assert lp.platform is not None
    backend = lp.platform.backend(TenantsBackend)
    for name in names("paged-key"):
        backend.add_api_key(lp.org_id, name)
    keys, _ = backend.api_keys_page(lp.org_id, None, 1000, None)
    return [key["id"] for key in keys]


@pytest.fixture(scope="module")
def component_versions(lp: LocalPlatform) -> int:
    """A prompt ``paged-prompt`` updated until it has ``ITEMS`` saved versions; that number."""
    assert lp.platform is not None
    catalog = lp.platform.backend(CatalogBackend)
    catalog.create(lp.org_id, lp.workspace_id, "prompt", {"id": "paged-prompt", "name": "v1", "spec": {}})
    while len(catalog.versions(lp.org_id, lp.workspace_id, "prompt", "paged-prompt", 1000, None)[0]) < ITEMS:
        catalog.update(lp.org_id, lp.workspace_id, "prompt", "paged-prompt", {"spec": {"n": 1}})
    return ITEMS


@pytest.fixture(scope="module")
def resource_versions(lp: LocalPlatform) -> int:
    """A solution ``paged-solution`` updated until it has ``ITEMS`` saved versions; that number."""
    assert lp.platform is not None
    backend = lp.platform.backend(ResourcesBackend)
    backend.create(lp.org_id, lp.workspace_id, "solution", {"id": "paged-solution", "name": "v1", "spec": {}})
    while (
        len(backend.versions(lp.org_id, lp.workspace_id, "solution", "paged-solution", 1000, None)[0]) < ITEMS
    ):
        backend.update(lp.org_id, lp.workspace_id, "solution", "paged-solution", {"spec": {"n": 1}})
    return ITEMS


@pytest.fixture(scope="module")
def service_versions(lp: LocalPlatform) -> str:
    """A hosted service with ``ITEMS`` recorded (stopped, never started) versions; its id."""
    assert lp.platform is not None
    backend = lp.platform.backend(HostedServicesBackend)
    backend.ensure_service(lp.org_id, lp.workspace_id, "paged-service")
    for _ in range(ITEMS):
        item = backend.add_version(
            lp.org_id, lp.workspace_id, "paged-service", HostedServiceDeploy(app="app:app")
        )
        backend.set_status(lp.org_id, "paged-service", int(item["version"]), "stopped")
    return "paged-service"


@pytest.fixture(scope="module")
def executions(lp: LocalPlatform) -> dict[str, list[str]]:
    """Finished executions of two code blocks and one agent; their ids by component, newest first."""
    assert lp.platform is not None
    store = service_of(lp.platform).store
    assert store is not None
    made: dict[str, list[str]] = {"block-a": [], "block-b": [], "agent-a": []}
    for n in range(3 * ITEMS):
        component_id = list(made)[n % 3]
        execution_id = f"exec-{n:03d}"
        store.insert(
            {
                "execution_id": execution_id,
                "org_id": lp.org_id,
                "workspace_id": lp.workspace_id,
                "component_type": "agent" if component_id.startswith("agent") else "code_block",
                "component_id": component_id,
                "ring_id": "ring",
                "status": "completed" if n % 2 else "failed",
                "execution_mode": "isolated",
                "timeout_seconds": 30,
                "billing_txn_id": f"txn-{execution_id}",
                "created_at": f"2026-01-01T00:00:{n:02d}.000000+00:00"
                if n < 60
                else "2026-01-01T00:01:00+00:00",
            }
        )
        made[component_id].append(execution_id)
    records, _ = store.list(lp.org_id, lp.workspace_id, None, 1000)
    newest_first = [r["execution_id"] for r in records]
    return {name: [e for e in newest_first if e in ids] for name, ids in made.items()}


@pytest.fixture
def platform_api(lp: LocalPlatform) -> Iterator[httpx.Client]:
    """An HTTP client of the platform API (``/api/v1``) with the admin token."""
    headers = {"Authorization": f"Bearer {lp.admin_token}"}
    with httpx.Client(base_url=f"{lp.url}/api/v1", headers=headers, timeout=30) as client:
        yield client


def walk(client: httpx.Client, path: str, limit: int) -> list[list[Any]]:
    """Every page of a list over HTTP, following the next-cursor header until a page has none."""
    pages: list[list[Any]] = []
    params: dict[str, str | int] = {"limit": limit}
    while True:
        answer = client.get(path, params=params)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        if "x-next-cursor" not in answer.headers:
            return pages
        params["cursor"] = answer.headers["x-next-cursor"]


def only(prefix: str, found: list[str]) -> list[str]:
    """The names of ``found`` that start with ``prefix``, after checking that none came twice."""
    assert len(found) == len(set(found)), "no item is repeated across pages"
    return [name for name in found if name.startswith(prefix)]


# ---------------------------------------------------------------------------------------- secrets
async def test_secrets_iterate_in_name_order_a_page_at_a_time(
    flow: FlowSDK, secrets: list[str], answered: Answered
) -> None:
    pages = answered(SecretsBackend, "list_secrets")
    found = flow.secrets.iter(page_size=PAGE)
    assert pages == []
    first = await anext(found)
    assert len(pages) == 1, "only the first page is fetched before the first item is used"
    every = [first["name"], *[s["name"] async for s in found]]
    assert only("PAGED_SECRET", every) == secrets
    assert every == sorted(every)
    listed = await flow.secrets.list()
    assert [s["name"] for s in listed] == every, "list() still answers every secret"


def test_sync_secrets_iterate(sync_flow: SyncFlowSDK, secrets: list[str]) -> None:
    assert only("PAGED_SECRET", [s["name"] for s in sync_flow.secrets.iter(page_size=PAGE)]) == secrets


# --------------------------------------------------------------------------------------- datasets
async def test_datasets_iterate_oldest_first(flow: FlowSDK, datasets: list[str], answered: Answered) -> None:
    pages = answered(DatasetsBackend, "list_datasets")
    found = [d["id"] async for d in flow.datasets.iter(page_size=PAGE)]
    assert only("paged-dataset", found) == datasets
    assert len(pages) == -(-len(found) // PAGE)
    assert [d["id"] for d in await flow.datasets.list()] == found


def test_sync_and_cli_datasets_iterate(sync_flow: SyncFlowSDK, cli: CLIClient, datasets: list[str]) -> None:
    assert only("paged-dataset", [d["id"] for d in sync_flow.datasets.iter(page_size=PAGE)]) == datasets
    assert only("paged-dataset", [d["id"] for d in cli.datasets.iter(page_size=PAGE)]) == datasets
    assert only("paged-dataset", [d["id"] for d in cli.datasets.list()]) == datasets


# --------------------------------------------------------------------------------- vector indexes
async def test_vector_indexes_iterate_oldest_first(
    flow: FlowSDK, indexes: list[str], answered: Answered
) -> None:
    pages = answered(VectorBackend, "list_vector_indexes")
    found = flow.vector.iter_indexes(page_size=PAGE)
    first = await anext(found)
    assert len(pages) == 1
    every = [first["name"], *[i["name"] async for i in found]]
    assert only("paged-index", every) == indexes
    assert [i["name"] for i in await flow.vector.list_indexes()] == every


def test_sync_vector_indexes_iterate(sync_flow: SyncFlowSDK, indexes: list[str]) -> None:
    assert only("paged-index", [i["name"] for i in sync_flow.vector.iter_indexes(page_size=PAGE)]) == indexes


# ------------------------------------------------------------------------------ memory namespaces
async def test_memory_namespaces_iterate_in_name_order(
    flow: FlowSDK, namespaces: list[str], answered: Answered
) -> None:
    pages = answered(MemoryBackend, "list_memory_namespaces")
    found = [n async for n in flow.memory.iter_namespaces(page_size=PAGE)]
    assert only("paged-namespace", [n["namespace"] for n in found]) == namespaces
    assert all(n["count"] == 1 for n in found if n["namespace"].startswith("paged-namespace"))
    assert len(pages) == -(-len(found) // PAGE)
    assert await flow.memory.list_namespaces() == found


def test_sync_memory_namespaces_iterate(sync_flow: SyncFlowSDK, namespaces: list[str]) -> None:
    found = [n["namespace"] for n in sync_flow.memory.iter_namespaces(page_size=PAGE)]
    assert only("paged-namespace", found) == namespaces


# -------------------------------------------------------------------------------------- tenancy
def test_cli_iterates_workspaces_lazily(
    lp: LocalPlatform, cli: CLIClient, workspaces: list[str], answered: Answered
) -> None:
    pages = answered(TenantsBackend, "list_workspaces")
    found = cli.iter_workspaces(lp.org_id, page_size=PAGE)
    assert next(found)["id"] == workspaces[0]
    assert len(pages) == 1
    assert [w["id"] for w in found] == workspaces[1:]
    assert len(pages) == 3
    assert [w["id"] for w in cli.list_workspaces(lp.org_id)] == workspaces


def test_orgs_are_one_page_of_one(lp: LocalPlatform, cli: CLIClient, platform_api: httpx.Client) -> None:
    assert [o["id"] for o in cli.iter_orgs(page_size=1)] == [lp.org_id]
    assert [o["id"] for o in cli.list_orgs()] == [lp.org_id]
    assert walk(platform_api, "/tenants/orgs", 1) == [[cli.list_orgs()[0]]]


def test_api_keys_walk_over_http(lp: LocalPlatform, platform_api: httpx.Client, api_keys: list[str]) -> None:
    pages = walk(platform_api, f"/tenants/orgs/{lp.org_id}/api-keys", PAGE)
    assert [len(p) for p in pages[:-1]] == [PAGE] * (len(pages) - 1)
    assert [k["id"] for page in pages for k in page] == api_keys
    assert all("key" not in k and "key_hash" not in k for page in pages for k in page)


# ---------------------------------------------------------------------------------- version lists
def test_component_versions_iterate_oldest_first(
    cli: CLIClient, component_versions: int, answered: Answered
) -> None:
    pages = answered(CatalogBackend, "list_component_versions")
    found = cli.prompts.iter_versions("paged-prompt", page_size=PAGE)
    assert next(found)["version"] == 1
    assert len(pages) == 1
    assert [v["version"] for v in found] == list(range(2, component_versions + 1))
    assert len(pages) == 3
    assert [v["version"] for v in cli.prompts.versions("paged-prompt")] == list(
        range(1, component_versions + 1)
    )


def test_resource_versions_iterate_oldest_first(
    cli: CLIClient, resource_versions: int, answered: Answered
) -> None:
    pages = answered(ResourcesBackend, "list_resource_versions")
    found = [v["version"] for v in cli.solutions.iter_versions("paged-solution", page_size=PAGE)]
    assert found == list(range(1, resource_versions + 1))
    assert len(pages) == 3


def test_hosted_service_versions_iterate_oldest_first(
    cli: CLIClient, service_versions: str, answered: Answered
) -> None:
    pages = answered(HostedServicesBackend, "list_hosted_service_versions")
    found = cli.hosted_services.iter_versions(service_versions, page_size=PAGE)
    assert next(found)["version"] == 1
    assert len(pages) == 1
    assert [v["version"] for v in found] == list(range(2, ITEMS + 1))
    assert len(pages) == 3
    listed = cli.hosted_services.versions(service_versions)
    assert [(v["version"], v["status"]) for v in listed] == [(n, "stopped") for n in range(1, ITEMS + 1)]


# ------------------------------------------------------------------------------------ executions
async def test_execution_namespaces_iterate_their_own_executions(
    flow: FlowSDK, executions: dict[str, list[str]], answered: Answered
) -> None:
    pages = answered(ExecutionsBackend, "list_executions")
    found = flow.code_blocks.iter_executions(component_id="block-a", page_size=PAGE)
    assert [e["execution_id"] async for e in found] == executions["block-a"]
    assert [p["cursor"] is None for p in pages] == [True, False, False]
    assert all(p["component_type"] == "code_block" and p["component_id"] == "block-a" for p in pages)
    blocks = [e["execution_id"] async for e in flow.code_blocks.iter_executions(page_size=PAGE)]
    assert sorted(blocks) == sorted(executions["block-a"] + executions["block-b"])
    agents = [e async for e in flow.agents.iter_executions(status="completed", page_size=PAGE)]
    assert [e["execution_id"] for e in agents] == [
        e for e in executions["agent-a"] if int(e.removeprefix("exec-")) % 2
    ]
    assert all(e["component_type"] == "agent" and e["status"] == "completed" for e in agents)
    assert [e async for e in flow.workflows.iter_executions()] == []


def test_sync_execution_iterator(sync_flow: SyncFlowSDK, executions: dict[str, list[str]]) -> None:
    found = sync_flow.code_blocks.iter_executions(component_id="block-b", page_size=PAGE)
    assert [e["execution_id"] for e in found] == executions["block-b"]


async def test_clients_filter_executions_by_component(
    lp: LocalPlatform, cli: CLIClient, executions: dict[str, list[str]]
) -> None:
    async with PlatformClient(
        base_url=lp.url, auth_token=lp.admin_token, org_id=lp.org_id, workspace_id=lp.workspace_id
    ) as client:
        found = client.iter_executions(component_type="agent", component_id="agent-a", page_size=PAGE)
        assert [e["execution_id"] async for e in found] == executions["agent-a"]
        with pytest.raises(FlowSDKError, match="component_type"):
            client.iter_executions(component_type="robot")
    found_sync = cli.iter_executions(component_type="code_block", component_id="block-b", page_size=PAGE)
    assert [e["execution_id"] for e in found_sync] == executions["block-b"]
    with pytest.raises(CLIClientError, match="status"):
        cli.iter_executions(status="sleeping")


# ------------------------------------------------------------------------------------ refusals
PAGED_PATHS = [
    "/tenants/orgs",
    "/tenants/orgs/{org}/workspaces",
    "/tenants/orgs/{org}/api-keys",
    "{ws}/components/prompt/paged-prompt/versions",
    "{ws}/resources/solution/paged-solution/versions",
    "{ws}/hosted-services/paged-service/versions",
    "{ws}/datasets",
    "{ws}/secrets",
    "{ws}/vector/indexes",
    "{ws}/memory/namespaces",
]


@pytest.mark.parametrize("template", PAGED_PATHS)
def test_a_made_up_or_foreign_cursor_is_refused_by_name(
    lp: LocalPlatform,
    platform_api: httpx.Client,
    template: str,
    component_versions: int,
    resource_versions: int,
    service_versions: str,
    secrets: list[str],
) -> None:
    path = template.format(org=lp.org_id, ws=f"/orgs/{lp.org_id}/workspaces/{lp.workspace_id}")
    made_up = platform_api.get(path, params={"cursor": "bm90LWEtY3Vyc29y"})
    assert made_up.status_code == 400, made_up.text
    assert made_up.json()["field"] == "cursor"
    foreign_list = f"/orgs/{lp.org_id}/workspaces/{lp.workspace_id}/secrets"
    if path.endswith("/secrets"):
        foreign_list = (
            f"/orgs/{lp.org_id}/workspaces/{lp.workspace_id}/components/prompt/paged-prompt/versions"
        )
    foreign = platform_api.get(foreign_list, params={"limit": 1}).headers["x-next-cursor"]
    refused = platform_api.get(path, params={"cursor": foreign})
    assert refused.status_code == 400, refused.text
    assert refused.json()["field"] == "cursor"


def _forged(list_name: str, *values: object) -> str:
    text = json.dumps([list_name, *values])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_cursor_of_the_right_list_with_values_of_the_wrong_kind_is_refused(
    lp: LocalPlatform, platform_api: httpx.Client, service_versions: str, secrets: list[str]
) -> None:
    workspace = f"/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
    text_for_a_number = _forged(VERSIONS_ORDER.list_name, "1 OR 1=1")
    answer = platform_api.get(
        f"{workspace}/hosted-services/{service_versions}/versions", params={"cursor": text_for_a_number}
    )
    assert answer.status_code == 400 and answer.json()["field"] == "cursor"
    number_for_a_text = _forged(SECRETS_ORDER.list_name, 7)
    answer = platform_api.get(f"{workspace}/secrets", params={"cursor": number_for_a_text})
    assert answer.status_code == 400 and answer.json()["field"] == "cursor"
    well_formed = _forged(SECRETS_ORDER.list_name, secrets[-2])
    last = platform_api.get(f"{workspace}/secrets", params={"cursor": well_formed})
    assert last.status_code == 200
    assert only("PAGED_SECRET", [s["name"] for s in last.json()]) == secrets[-1:]
