"""A data directory written by release 0.1.0 opens with this code: migrated in place, nothing lost.

``data-dir-0.1.0.tar.gz`` was written by the release's own code (see ``make_fixture.py``). The test
starts today's platform on a copy, compares its schema with a fresh data directory's, and reads back
every record through the API with the keys the release issued.
"""

from __future__ import annotations

import json
import sqlite3
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flow_local.bootstrap import migrate_every_area
from flow_local.core import Platform
from flow_local.harness import LocalPlatform
from flow_local.settings import Settings

HERE = Path(__file__).resolve().parent
EXPECTED = json.loads((HERE / "expected-0.1.0.json").read_text())


def _schema(db: Path) -> dict[str, list[str]]:
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')) for t in sorted(tables)}


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    data_dir = tmp_path_factory.mktemp("release-0.1.0")
    with tarfile.open(HERE / "data-dir-0.1.0.tar.gz") as archive:
        archive.extractall(data_dir, filter="data")
    platform = LocalPlatform(data_dir).start()
    try:
        yield platform
    finally:
        platform.stop()


def _client(platform: LocalPlatform, api_key: str) -> httpx.Client:
    token = httpx.post(f"{platform.url}/api/v1/auth/token", json={"api_key": api_key})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return httpx.Client(base_url=platform.url, headers=headers)


def test_the_release_defaults_are_kept(upgraded: LocalPlatform) -> None:
    assert (upgraded.org_id, upgraded.workspace_id, upgraded.api_key) == (
        EXPECTED["org_id"],
        EXPECTED["workspace_id"],
        EXPECTED["dev_api_key"],
    )


def test_the_schema_is_the_same_as_a_fresh_one(upgraded: LocalPlatform, tmp_path: Path) -> None:
    for data_dir in (upgraded.data_dir, tmp_path / "fresh"):
        platform = Platform(Settings.load(data_dir))
        try:
            migrate_every_area(platform)
        finally:
            platform.close()
    assert _schema(upgraded.data_dir / "platform.db") == _schema(tmp_path / "fresh" / "platform.db")


def test_every_record_reads_back(upgraded: LocalPlatform) -> None:
    ws = f"/api/v1/orgs/{EXPECTED['org_id']}/workspaces/{EXPECTED['workspace_id']}"
    with _client(upgraded, EXPECTED["dev_api_key"]) as c:
        assert c.get(f"{ws}/components/code_block/cb").json()["spec"] == {"source": "x"}
        values = [c.get(f"{ws}/state/cb/keys/k{i}").json()["value"] for i in range(20)]
        assert values == [{"n": i} for i in range(20)]
        assert c.get(f"{ws}/secrets/TOKEN").json()["value"] == "s3cret-from-0.1.0"
        stored = c.get(f"/api/v1/orgs/{EXPECTED['org_id']}/storage/objects/a/b.bin")
        assert stored.content == b"\x00\x01payload"
        hits = c.post(
            f"{ws}/vector/indexes/{EXPECTED['index_id']}/search", json={"query_embedding": [0, 1, 0]}
        )
        assert hits.json()["matches"][0]["id"] == "v2"
        assert [e["action"] for e in c.get(f"{ws}/audit/events").json() if e["action"] == "a"] == ["a"]
        query = {"filters": [{"field": "age", "op": "gt", "value": 25}], "order_by": "age"}
        rows = c.post(f"{ws}/datasets/people/query", json=query).json()["rows"]
        assert [row["name"] for row in rows] == ["p6", "p7", "p8", "p9"]


def test_a_workspace_key_of_the_release_keeps_its_binding(upgraded: LocalPlatform) -> None:
    ws = f"/api/v1/orgs/{EXPECTED['org_id']}/workspaces/{EXPECTED['workspace_id']}"
    with _client(upgraded, EXPECTED["second_api_key"]) as c:
        assert c.get(f"{ws}/state/cb/keys/k3").json()["value"] == {"n": 3}
        other = c.post(f"/api/v1/tenants/orgs/{EXPECTED['org_id']}/workspaces", json={"name": "other"})
        assert other.status_code in (401, 403), other.text


def test_writes_after_the_upgrade_survive_a_restart(upgraded: LocalPlatform) -> None:
    ws = f"/api/v1/orgs/{EXPECTED['org_id']}/workspaces/{EXPECTED['workspace_id']}"
    with _client(upgraded, EXPECTED["dev_api_key"]) as c:
        assert c.put(f"{ws}/state/cb/keys/after", json={"value": "upgrade"}).status_code == 200
    upgraded.stop()
    upgraded.start()
    with _client(upgraded, EXPECTED["dev_api_key"]) as c:
        assert c.get(f"{ws}/state/cb/keys/after").json()["value"] == "upgrade"
        assert c.get(f"{ws}/state/cb/keys/k0").json()["value"] == {"n": 0}
