"""A data directory written by release 0.1.0 opens with this code: migrated in place, nothing lost.

The fixtures were written by the release's own code (see ``make_fixture.py``). The test starts today's
platform on a copy, compares its schema with a fresh one's, and reads back every record through the API
with the keys the release issued. In the default suite the release's records are in SQLite; under the
cluster profile (``FLOW_DATABASE_URL`` set to PostgreSQL, see ``tests/cluster/profile.py``) they are the
release's PostgreSQL database, restored with ``pg_restore`` into the module's database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from flow_local.bootstrap import migrate_every_area
from flow_local.core import Platform
from flow_local.harness import LocalPlatform
from flow_local.settings import Settings

from .make_fixture import DUMP, fixture_files


def _postgres_url() -> str:
    """The module's PostgreSQL database under the cluster profile (set by its fixture), else ''."""
    url = os.environ.get("FLOW_DATABASE_URL", "")
    return url if url.startswith("postgresql") else ""


@pytest.fixture(scope="module")
def expected() -> dict[str, str]:
    """What the release wrote: ids and API keys."""
    _archive, expected_file = fixture_files(postgres=bool(_postgres_url()))
    values: dict[str, str] = json.loads(expected_file.read_text())
    return values


def _schema(database: str | Path) -> dict[str, list[str]]:
    """Table name -> sorted column names, of a SQLite file or a PostgreSQL URL."""
    if isinstance(database, Path):
        with sqlite3.connect(database) as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: sorted(r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')) for t in tables}
    import psycopg

    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
        ).fetchall()
    schema: dict[str, list[str]] = {}
    for table, column in rows:
        schema.setdefault(table, []).append(column)
    return {table: sorted(columns) for table, columns in schema.items()}


def _restore_release_database(url: str) -> None:
    """Load the release's PostgreSQL dump into this module's database (which has pgvector already)."""
    from flow_local.cluster.engines import PostgresEngine

    bin_dir = PostgresEngine._bin_dir()
    listing = subprocess.run(
        [str(bin_dir / "pg_restore"), "--list", str(DUMP)], capture_output=True, text=True, check=True
    ).stdout
    wanted = "\n".join(line for line in listing.splitlines() if " EXTENSION " not in line)
    restore = [str(bin_dir / "pg_restore"), "--no-owner", "--exit-on-error", "--use-list", "/dev/stdin"]
    subprocess.run([*restore, "--dbname", url, str(DUMP)], input=wanted, text=True, check=True)


def _fresh_database(beside: str, name: str) -> str:
    """An empty database with pgvector on the server of ``beside``, for the schema comparison."""
    import psycopg

    server = urlsplit(beside)
    with psycopg.connect(server._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server._replace(path=f"/{name}").geturl()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return url


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    data_dir = tmp_path_factory.mktemp("release-0.1.0")
    postgres_url = _postgres_url()
    archive_path, _expected = fixture_files(postgres=bool(postgres_url))
    with tarfile.open(archive_path) as archive:
        archive.extractall(data_dir, filter="data")
    with pytest.MonkeyPatch.context() as patch:
        # The release's objects are files in its data directory, whatever the profile's store is.
        patch.delenv("FLOW_OBJECT_STORE_URL", raising=False)
        if postgres_url:
            _restore_release_database(postgres_url)
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


def test_the_release_defaults_are_kept(upgraded: LocalPlatform, expected: dict[str, str]) -> None:
    assert (upgraded.org_id, upgraded.workspace_id, upgraded.api_key) == (
        expected["org_id"],
        expected["workspace_id"],
        expected["dev_api_key"],
    )


def test_the_schema_is_the_same_as_a_fresh_one(upgraded: LocalPlatform, tmp_path: Path) -> None:
    postgres_url = _postgres_url()
    fresh_url = _fresh_database(postgres_url, "upgrade_fresh") if postgres_url else ""
    databases = {upgraded.data_dir: postgres_url, tmp_path / "fresh": fresh_url}
    for data_dir, url in databases.items():
        platform = Platform(Settings.load(data_dir, database_url=url))
        try:
            migrate_every_area(platform)
        finally:
            platform.close()
    if postgres_url:
        assert _schema(postgres_url) == _schema(fresh_url)
    else:
        assert _schema(upgraded.data_dir / "platform.db") == _schema(tmp_path / "fresh" / "platform.db")


def test_every_record_reads_back(upgraded: LocalPlatform, expected: dict[str, str]) -> None:
    ws = f"/api/v1/orgs/{expected['org_id']}/workspaces/{expected['workspace_id']}"
    with _client(upgraded, expected["dev_api_key"]) as c:
        assert c.get(f"{ws}/components/code_block/cb").json()["spec"] == {"source": "x"}
        values = [c.get(f"{ws}/state/cb/keys/k{i}").json()["value"] for i in range(20)]
        assert values == [{"n": i} for i in range(20)]
        assert c.get(f"{ws}/secrets/TOKEN").json()["value"] == "s3cret-from-0.1.0"
        stored = c.get(f"/api/v1/orgs/{expected['org_id']}/storage/objects/a/b.bin")
        assert stored.content == b"\x00\x01payload"
        hits = c.post(
            f"{ws}/vector/indexes/{expected['index_id']}/search", json={"query_embedding": [0, 1, 0]}
        )
        assert hits.json()["matches"][0]["id"] == "v2"
        assert [e["action"] for e in c.get(f"{ws}/audit/events").json() if e["action"] == "a"] == ["a"]
        query = {"filters": [{"field": "age", "op": "gt", "value": 25}], "order_by": "age"}
        rows = c.post(f"{ws}/datasets/people/query", json=query).json()["rows"]
        assert [row["name"] for row in rows] == ["p6", "p7", "p8", "p9"]


def test_a_workspace_key_of_the_release_keeps_its_binding(
    upgraded: LocalPlatform, expected: dict[str, str]
) -> None:
    ws = f"/api/v1/orgs/{expected['org_id']}/workspaces/{expected['workspace_id']}"
    with _client(upgraded, expected["second_api_key"]) as c:
        assert c.get(f"{ws}/state/cb/keys/k3").json()["value"] == {"n": 3}
        other = c.post(f"/api/v1/tenants/orgs/{expected['org_id']}/workspaces", json={"name": "other"})
        assert other.status_code in (401, 403), other.text


def test_writes_after_the_upgrade_survive_a_restart(
    upgraded: LocalPlatform, expected: dict[str, str]
) -> None:
    ws = f"/api/v1/orgs/{expected['org_id']}/workspaces/{expected['workspace_id']}"
    with _client(upgraded, expected["dev_api_key"]) as c:
        assert c.put(f"{ws}/state/cb/keys/after", json={"value": "upgrade"}).status_code == 200
    upgraded.stop()
    upgraded.start()
    with _client(upgraded, expected["dev_api_key"]) as c:
        assert c.get(f"{ws}/state/cb/keys/after").json()["value"] == "upgrade"
        assert c.get(f"{ws}/state/cb/keys/k0").json()["value"] == {"n": 0}
