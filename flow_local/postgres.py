"""PostgreSQL behind the areas' :class:`~flow_local.db.Database` interface (psycopg 3 and its pool).

The areas' statements are SQLite's dialect; :mod:`flow_local.sql_dialect` rewrites each one. Write
transactions keep SQLite's ``BEGIN IMMEDIATE`` guarantee that the areas were written against (one writer
at a time, so a read-then-write inside a transaction sees no concurrent write): each takes one
transaction-scoped advisory lock, which also holds across API replicas sharing the database. Reads and
single statements outside a transaction run in autocommit mode on a pooled connection.

A connection taken from the pool is first checked for what the server said while it sat idle: a
server that stops (a restart) or dies ends its idle sessions, which leaves them readable (a FATAL
message, end of file). Such a connection is dropped before any statement is sent on it, with every
other one the pool holds that no longer answers, and a new one is taken. Checking costs one ``poll``
call and no round trip; no statement is ever retried, so no write can run twice.
"""

from __future__ import annotations

import select
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg.errors
from psycopg.adapt import Dumper
from psycopg.rows import RowMaker
from psycopg_pool import ConnectionPool

from flow_local import sql_dialect
from flow_local.db import DatabaseUnavailable, IntegrityError, Row, redacted_url

WRITE_LOCK_KEY = 0x666C6F77
"""The advisory lock every write transaction holds (SQLite's one-writer rule across processes)."""
_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " area TEXT NOT NULL, step BIGINT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
    " PRIMARY KEY (area, step))"
)
POOL_MAX_SIZE = 16
POOL_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10


class PgRow(tuple[Any, ...]):
    """A row readable by position and by column name, like ``sqlite3.Row``."""

    _names: tuple[str, ...] = ()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return super().__getitem__(self._names.index(key))
            except ValueError:
                raise IndexError(f"no column named {key!r}") from None
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._names)


def _row_factory(cursor: psycopg.Cursor[Any]) -> RowMaker[PgRow]:
    names = tuple(column.name for column in cursor.description or ())

    def make(values: Sequence[Any]) -> PgRow:
        row = PgRow(values)
        row._names = names
        return row

    return make


class _BoolAsInteger(Dumper):
    """Python booleans sent as 0/1: the schema stores flags in integer columns, as SQLite does."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


class _Cursor:
    """What a statement inside a transaction returns: its rows (fetched at once) and its row count."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return list(self._rows)


class _Connection:
    """A transaction's connection, taking the areas' SQLite statements."""

    def __init__(self, conn: psycopg.Connection[PgRow], database: PostgresDatabase) -> None:
        self._conn = conn
        self._database = database

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> _Cursor:
        _check_storable(parameters)
        with _errors_translated(), self._conn.cursor() as cursor:
            cursor.execute(self._database.translate(sql).encode(), tuple(parameters))
            rows = cursor.fetchall() if cursor.description is not None else []
            return _Cursor(rows, cursor.rowcount)

    def run_script(self, sql: str) -> None:
        """Run statements already in PostgreSQL's dialect, without parameters (several may follow each other)."""
        with _errors_translated():
            self._conn.execute(sql.encode())

    def executemany(self, sql: str, seq_of_parameters: Sequence[Sequence[Any]], /) -> _Cursor:
        for parameters in seq_of_parameters:
            _check_storable(parameters)
        with _errors_translated(), self._conn.cursor() as cursor:
            cursor.executemany(self._database.translate(sql).encode(), [tuple(p) for p in seq_of_parameters])
            return _Cursor([], cursor.rowcount)


class PostgresDatabase:
    """A PostgreSQL database shared by every area, and by every API replica using the same URL."""

    def __init__(self, url: str, *, pool_max_size: int = POOL_MAX_SIZE) -> None:
        self.url = url
        self._primary_keys: dict[str, tuple[str, ...]] = {}
        self._translated: dict[str, str] = {}
        self._local = threading.local()
        _check_reachable(url)
        self._pool: ConnectionPool[psycopg.Connection[PgRow]] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_max_size,
            timeout=POOL_TIMEOUT_SECONDS,
            kwargs={"autocommit": True, "row_factory": _row_factory},
            configure=self._configure,
            open=True,
        )
        self._pool.wait(POOL_TIMEOUT_SECONDS)
        with self.transaction() as conn:
            conn.execute(_MIGRATIONS_TABLE)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[PgRow]]:
        """A pooled connection the server has not closed (see the module's docstring)."""
        with self._pool.connection() as raw:
            if not _closed_by_server(raw):
                yield raw
                return
            raw.close()  # the pool replaces a connection returned closed
        self._pool.check()
        with self._pool.connection() as raw:
            yield raw

    @staticmethod
    def _configure(conn: psycopg.Connection[Any]) -> None:
        conn.adapters.register_dumper(bool, _BoolAsInteger)

    def translate(self, sql: str) -> str:
        """A statement of the areas in PostgreSQL's dialect (cached: the areas reuse a few hundred)."""
        found = self._translated.get(sql)
        if found is None:
            found = sql_dialect.query(sql, self._primary_keys)
            self._translated[sql] = found
        return found

    @contextmanager
    def transaction(self) -> Iterator[_Connection]:
        """A write transaction holding the write lock: all of it is committed, or none of it.

        Nested use joins the outer transaction.
        """
        current: _Connection | None = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        with self._connection() as raw, _errors_translated(), raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
            self._local.conn = _Connection(raw, self)
            try:
                yield self._local.conn
            finally:
                self._local.conn = None

    def migrate(self, area: str, statements: Sequence[str]) -> None:
        """Apply the area's schema statements not applied yet, in order, in one transaction."""
        for sql in statements:
            found = sql_dialect.primary_key(sql)
            if found is not None:
                self._primary_keys[found[0]] = found[1]
        with self.transaction() as conn:
            applied = conn.execute("SELECT step FROM schema_migrations WHERE area = ?", (area,)).fetchall()
            done = {row[0] for row in applied}
            for step, sql in enumerate(statements):
                if step in done:
                    continue
                conn.run_script(sql_dialect.schema(sql))
                conn.execute("INSERT INTO schema_migrations (area, step) VALUES (?, ?)", (area, step))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a read (or a write with ``RETURNING``, committed on return) and return every row."""
        return self._run(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """Run a read and return its first row, or None."""
        row: Row | None = self._run(sql, params).fetchone()
        return row

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write (atomic on its own); return the number of rows changed."""
        return self._run(sql, params).rowcount

    def _run(self, sql: str, params: Sequence[Any]) -> _Cursor:
        current: _Connection | None = getattr(self._local, "conn", None)
        if current is not None:
            return current.execute(sql, params)
        with self._connection() as raw:
            return _Connection(raw, self).execute(sql, params)

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()


def _closed_by_server(conn: psycopg.Connection[Any]) -> bool:
    """Whether an idle connection has anything to read: the server ended the session (or the socket is gone).

    An idle session receives nothing unsolicited (the platform never listens for notifications), so
    readable input means the server's last words or end of file.
    """
    if conn.closed:
        return True
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def _check_reachable(url: str) -> None:
    """Fail at once, naming the database and the reason, when it cannot be reached or logged into."""
    try:
        psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DatabaseUnavailable(
            f"cannot open the PostgreSQL database {redacted_url(url)}: {reason}"
        ) from exc


NUL_DETAIL = "a text in the request contains the character U+0000, which PostgreSQL cannot store: remove it"


def _check_storable(parameters: Sequence[Any]) -> None:
    """Refuse a text holding U+0000 with a 400 (SQLite stores it; PostgreSQL's text type cannot)."""
    for value in parameters:
        if isinstance(value, str) and "\x00" in value:
            from flow_local.errors import bad_request

            raise bad_request(NUL_DETAIL)


@contextmanager
def _errors_translated() -> Iterator[None]:
    """PostgreSQL's errors as the areas know them: constraint errors, out-of-range numbers, and a JSON
    text escaping U+0000 (``\\u0000``, which ``jsonb`` cannot hold)."""
    try:
        yield
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(str(exc)) from exc
    except psycopg.errors.NumericValueOutOfRange as exc:
        from flow_local.errors import bad_request

        raise bad_request("a number in the request is too large") from exc
    except psycopg.errors.UntranslatableCharacter as exc:
        from flow_local.errors import bad_request

        raise bad_request(NUL_DETAIL) from exc
