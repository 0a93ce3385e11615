"""The platform's database on PostgreSQL: migrations from an empty database, the areas' guarantees, and
requests right after the server restarts."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet

from flow_local.areas import memory, vector_pgvector
from flow_local.bootstrap import backend_classes, migrate_every_area
from flow_local.cluster.engines import PostgresEngine
from flow_local.cluster.workspace import default_workspace
from flow_local.core import Platform
from flow_local.db import DatabaseUnavailable, IntegrityError
from flow_local.harness import LocalPlatform
from flow_local.ports import free_port
from flow_local.postgres import PostgresDatabase
from flow_local.settings import SEALING_KEY_ENV, Settings
from flow_sdk import FlowSDK


def _sqlite_columns(path: Path) -> dict[str, list[str]]:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            t: [c[1] for c in conn.execute(f"PRAGMA table_info({t})")]
            for t in tables
            if not t.startswith("sqlite_")
        }


def _postgres_columns(url: str) -> dict[str, list[str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema='public' ORDER BY table_name, ordinal_position"
        ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


@pytest.fixture(autouse=True)
def shared_sealing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Platforms sharing a database share its sealing key, as API replicas do."""
    monkeypatch.setenv(SEALING_KEY_ENV, Fernet.generate_key().decode())


def _platform(tmp_path: Path, name: str, database_url: str) -> Platform:
    return Platform(Settings.load(tmp_path / name, database_url=database_url))


def test_an_empty_database_migrates_to_the_same_schema_as_sqlite(
    postgres: PostgresEngine, tmp_path: Path
) -> None:
    assert len(backend_classes()) >= 10
    on_postgres = _platform(tmp_path, "pg", postgres.create_database("migrate_empty"))
    on_sqlite = _platform(tmp_path, "lite", "")
    try:
        migrate_every_area(on_postgres)
        migrate_every_area(on_sqlite)
    finally:
        on_postgres.close()
        on_sqlite.close()
    expected = _sqlite_columns(on_sqlite.settings.db_path)
    assert len(expected) >= 20
    found = _postgres_columns(on_postgres.settings.database_url)
    pgvector_only = {*vector_pgvector.TABLES, *memory.PGVECTOR_TABLES}
    assert pgvector_only <= found.keys()
    assert {t: c for t, c in found.items() if t not in pgvector_only} == expected


def test_migrating_again_applies_nothing(postgres: PostgresEngine, tmp_path: Path) -> None:
    url = postgres.create_database("migrate_twice")
    first = _platform(tmp_path, "one", url)
    migrate_every_area(first)
    before = first.db.query("SELECT area, step, applied_at FROM schema_migrations ORDER BY area, step")
    first.close()
    second = _platform(tmp_path, "two", url)
    try:
        migrate_every_area(second)
        after = second.db.query("SELECT area, step, applied_at FROM schema_migrations ORDER BY area, step")
    finally:
        second.close()
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    assert len(before) >= 25


def test_replicas_migrating_at_once_apply_each_step_once(postgres: PostgresEngine, tmp_path: Path) -> None:
    url = postgres.create_database("migrate_race")
    errors: list[BaseException] = []
    platforms: list[Platform] = []

    def replica(number: int) -> None:
        try:
            platform = _platform(tmp_path, f"replica-{number}", url)
            platforms.append(platform)
            migrate_every_area(platform)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=replica, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for platform in platforms:
        platform.close()
    assert errors == []
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT (area, step)) FROM schema_migrations").fetchone()
    assert row is not None and row[0] == row[1] > 0


@pytest.fixture
def database(postgres: PostgresEngine, request: pytest.FixtureRequest) -> Any:
    db = PostgresDatabase(postgres.create_database(f"db_{request.node.name[:40].lower()}"))
    db.migrate("probe", ["CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT, n INTEGER, b BLOB)"])
    yield db
    db.close()


def test_rows_read_by_position_and_by_name(database: PostgresDatabase) -> None:
    database.execute("INSERT INTO kv VALUES (?,?,?,?)", ("a", "50% off?", True, b"\x00\xff"))
    row = database.query_one("SELECT * FROM kv WHERE k=?", ("a",))
    assert row is not None
    assert (row[0], row["v"], row["n"], row["b"]) == ("a", "50% off?", 1, b"\x00\xff")
    assert dict(row) == {"k": "a", "v": "50% off?", "n": 1, "b": b"\x00\xff"}


def test_a_violated_constraint_is_the_neutral_integrity_error(database: PostgresDatabase) -> None:
    database.execute("INSERT INTO kv (k) VALUES (?)", ("dup",))
    with pytest.raises(IntegrityError, match="duplicate key"):
        database.execute("INSERT INTO kv (k) VALUES (?)", ("dup",))


def test_a_failed_transaction_writes_nothing(database: PostgresDatabase) -> None:
    with pytest.raises(IntegrityError), database.transaction() as conn:
        conn.execute("INSERT INTO kv (k) VALUES (?)", ("first",))
        conn.execute("INSERT INTO kv (k) VALUES (?)", ("first",))
    assert database.query("SELECT k FROM kv") == []


def test_write_transactions_are_serialised_like_sqlites(database: PostgresDatabase) -> None:
    """A read-then-write in a transaction sees no concurrent writer: 20 increments from 4 threads make 20."""
    database.execute("INSERT INTO kv (k, n) VALUES ('counter', 0)")

    def bump() -> None:
        for _ in range(5):
            with database.transaction() as conn:
                value = conn.execute("SELECT n FROM kv WHERE k='counter'").fetchone()[0]
                conn.execute("UPDATE kv SET n=? WHERE k='counter'", (value + 1,))

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    row = database.query_one("SELECT n FROM kv WHERE k='counter'")
    assert row is not None and row[0] == 20


def test_the_audit_log_stays_append_only(postgres: PostgresEngine, tmp_path: Path) -> None:
    from flow_local.areas.audit import AuditBackend

    platform = _platform(tmp_path, "audit", postgres.create_database("audit_guard"))
    try:
        audit = platform.backend(AuditBackend)
        audit.append("o", "w", {"action": "a", "resource_type": "r", "resource_id": "1"}, actor="me")
        with pytest.raises(IntegrityError, match="append-only"):
            platform.db.execute("UPDATE audit_events SET actor='someone else'")
        with pytest.raises(IntegrityError, match="append-only"):
            platform.db.execute("DELETE FROM audit_events")
    finally:
        platform.close()


def test_a_wrong_password_is_named_without_showing_it(postgres: PostgresEngine) -> None:
    url = postgres.url().replace(postgres.password, "not-the-password")
    with pytest.raises(DatabaseUnavailable, match="password authentication failed") as caught:
        PostgresDatabase(url)
    assert "not-the-password" not in str(caught.value) and ":***@" in str(caught.value)


def test_an_unreachable_server_is_named(tmp_path: Path) -> None:
    url = f"postgresql://flow:secret@127.0.0.1:{free_port()}/flow"
    with pytest.raises(
        DatabaseUnavailable, match=r"cannot open the PostgreSQL database postgresql://flow:\*\*\*@"
    ):
        PostgresDatabase(url)


RESTART_REQUESTS = 40


async def _calls(flow: FlowSDK, first: int) -> list[Any]:
    """Concurrent reads and writes of state, audit and storage: each needs the database."""
    flow.bind_request_context(service={"component_id": "restart-probe"})

    async def one(n: int) -> Any:
        key = f"probe-{first + n}"
        await flow.state.set(key, {"n": first + n})
        await flow.audit.log(action="probe.written", resource_type="state", resource_id=key)
        return await flow.state.get(key)

    return await asyncio.gather(*(one(n) for n in range(RESTART_REQUESTS)), return_exceptions=True)


def test_requests_right_after_a_postgres_restart_all_succeed(
    postgres: PostgresEngine, tmp_path: Path
) -> None:
    """The platform's pooled connections die with the server; the next requests get new ones, none fails."""
    url = postgres.create_database("restart_probe")
    with LocalPlatform(tmp_path / "served", database_url=url) as served:
        flow = default_workspace(served.url, served.api_key).sdk(served.url).with_options(max_retries=0)

        async def before_and_after() -> tuple[list[Any], list[Any]]:
            before = await _calls(flow, 0)  # concurrent: the pool holds several connections now
            postgres.restart()
            after = await _calls(flow, RESTART_REQUESTS)
            await flow.close()
            return before, after

        before, after = asyncio.run(before_and_after())
    assert before == [{"n": n} for n in range(RESTART_REQUESTS)]
    failed = [repr(result) for result in after if isinstance(result, BaseException)]
    assert failed == [], f"{len(failed)} of {RESTART_REQUESTS} calls failed after the restart: {failed[:3]}"
    assert after == [{"n": RESTART_REQUESTS + n} for n in range(RESTART_REQUESTS)]


POOLED = 6


def test_every_pooled_connection_a_restart_ended_is_replaced_unused(postgres: PostgresEngine) -> None:
    """Several idle pooled connections die with the server; no statement afterwards runs on one of them."""
    url = postgres.create_database("restart_pool")
    db = PostgresDatabase(url)
    try:
        db.migrate("probe", ["CREATE TABLE kv (k TEXT PRIMARY KEY, n INTEGER)"])
        barrier = threading.Barrier(POOLED)

        def sleep_together() -> None:
            barrier.wait()
            db.query("SELECT pg_sleep(0.5)")

        threads = [threading.Thread(target=sleep_together) for _ in range(POOLED)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'restart_pool'"
            ).fetchone()
        assert row is not None and row[0] > 2, "the pool should hold several connections before the restart"
        postgres.restart()
        failures: list[str] = []
        for n in range(2 * POOLED):
            try:
                db.execute("INSERT INTO kv (k, n) VALUES (?, ?)", (f"k{n}", n))
                assert db.query_one("SELECT n FROM kv WHERE k = ?", (f"k{n}",)) is not None
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
        assert failures == []
        with db.transaction() as tx:
            tx.execute("UPDATE kv SET n = n + 1")
        assert [r[0] for r in db.query("SELECT n FROM kv ORDER BY n")] == list(range(1, 2 * POOLED + 1))
    finally:
        db.close()
