"""Secrets at rest: sealed in the database, files readable by their owner only."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flow_local._generated.models import JobSubmit
from flow_local.areas.jobs import JobsBackend
from flow_local.harness import LocalPlatform

SECRET = "correct-horse-battery-staple-42"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    """A platform on a data directory left world-readable by an older version (0755, db 0644)."""
    data_dir = tmp_path_factory.mktemp("legacy") / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    sqlite3.connect(data_dir / "platform.db").close()
    (data_dir / "platform.db").chmod(0o644)
    with LocalPlatform(data_dir) as platform:
        yield platform


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _raw_bytes(data_dir: Path) -> bytes:
    """Everything SQLite has on disk: the database, its WAL and shared memory."""
    return b"".join(path.read_bytes() for path in data_dir.glob("platform.db*"))


def test_a_secret_value_is_sealed_in_the_database(local: LocalPlatform) -> None:
    assert local.platform is not None
    ws = f"/api/v1/orgs/{local.org_id}/workspaces/{local.workspace_id}"
    with httpx.Client(base_url=local.url, headers={"Authorization": f"Bearer {local.admin_token}"}) as client:
        assert client.put(f"{ws}/secrets/DB_PASSWORD", json={"value": SECRET}).status_code == 200
        assert client.get(f"{ws}/secrets/DB_PASSWORD").json()["value"] == SECRET
    data_dir = local.platform.settings.data_dir
    assert SECRET.encode() not in _raw_bytes(data_dir)
    with sqlite3.connect(data_dir / "platform.db") as db:
        (stored,) = db.execute("SELECT value FROM secrets WHERE name='DB_PASSWORD'").fetchone()
    assert stored.startswith("sealed:")


def test_a_queued_job_keeps_its_bearer_token_sealed(local: LocalPlatform) -> None:
    assert local.platform is not None
    token = local.platform.tokens.mint_user_token("job-owner", local.org_id, local.workspace_id)
    principal = local.platform.tokens.verify(token)
    jobs = local.platform.backend(JobsBackend)
    job = jobs.create(local.org_id, "svc-none", JobSubmit(endpoint_path="/x"), principal, None)
    assert jobs.get(local.org_id, job["job_id"])["token"] == token
    assert token.encode() not in _raw_bytes(local.platform.settings.data_dir)


def test_the_database_and_keys_are_private_files_in_a_private_directory(local: LocalPlatform) -> None:
    assert local.platform is not None
    data_dir = local.platform.settings.data_dir
    assert _mode(data_dir) == 0o700
    for name in ("platform.db", "platform.db-wal", "platform.db-shm", "signing.key", "sealing.key"):
        assert _mode(data_dir / name) == 0o600, name
