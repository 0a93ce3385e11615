"""The database the areas use: its interface, and SQLite in WAL mode (one connection per thread).

Each area declares its schema as an ordered list of SQL statements and calls
``db.migrate("area", STATEMENTS)``; statements already applied (recorded in ``schema_migrations``)
are skipped, new ones are appended at the end of the list and run once.

Statements are written in SQLite's dialect; the PostgreSQL database (``flow_local.postgres``) runs the
same statements through ``flow_local.sql_dialect``. Rows are read by position or by column name, and a
violated constraint raises :class:`IntegrityError` whichever database is behind.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " area TEXT NOT NULL, step INTEGER NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,"
    " PRIMARY KEY (area, step))"
)


class DatabaseUnavailable(RuntimeError):
    """The database named by the settings cannot be reached or opened."""


def redacted_url(url: str) -> str:
    """A URL with its password replaced by ``***`` (what may be printed or logged)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


class IntegrityError(Exception):
    """A write broke a constraint (unique key, foreign key, an append-only table); nothing was written."""


class Row(Protocol):
    """One result row: by position (``row[0]``) or by column name (``row["id"]``, ``dict(row)``)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __len__(self) -> int: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    """The result of one statement run inside a transaction."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """The connection a transaction runs on (what ``with db.transaction() as conn`` gives)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, seq_of_parameters: Sequence[Sequence[Any]], /) -> Cursor: ...


class Database(Protocol):
    """What every area needs from the platform's database."""

    def transaction(self) -> AbstractContextManager[Connection]:
        """A write transaction: all of it is committed, or none of it; nested use joins the outer one."""
        ...

    def migrate(self, area: str, statements: Sequence[str]) -> None:
        """Apply the area's schema statements not applied yet, in order, in one transaction."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a read (or a write with ``RETURNING``) and return every row."""
        ...

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """Run a read and return its first row, or None."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write in its own transaction; return the number of rows changed."""
        ...

    def close(self) -> None:
        """Close every connection."""


class SqliteDatabase:
    """A SQLite database file shared by every area of the platform (the embedded default)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        private_file(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        with self.transaction() as conn:
            conn.execute(_MIGRATIONS_TABLE)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): all of it is committed, or none of it.

        Nested use joins the outer transaction.
        """
        conn = self.connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            with _neutral_integrity_error():
                yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def migrate(self, area: str, statements: Sequence[str]) -> None:
        """Apply the area's schema statements not applied yet, in order, in one transaction."""
        with self.transaction() as conn:
            done = {
                row[0] for row in conn.execute("SELECT step FROM schema_migrations WHERE area = ?", (area,))
            }
            for step, sql in enumerate(statements):
                if step in done:
                    continue
                conn.execute(sql)
                conn.execute("INSERT INTO schema_migrations (area, step) VALUES (?, ?)", (area, step))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a read and return every row."""
        with _numbers_in_range(), _neutral_integrity_error():
            rows: list[Row] = self.connection().execute(sql, params).fetchall()
            return rows

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """Run a read and return its first row, or None."""
        with _numbers_in_range(), _neutral_integrity_error():
            row: Row | None = self.connection().execute(sql, params).fetchone()
            return row

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write in its own transaction; return the number of rows changed."""
        with _numbers_in_range(), self.transaction() as conn:
            return conn.execute(sql, params).rowcount

    def close(self) -> None:
        """Close every connection opened by any thread."""
        with self._lock:
            for conn in self._connections:
                with suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()


PRIVATE_FILE_MODE = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")


def private_file(path: Path) -> None:
    """Create the database file readable by its owner only (0600) and tighten it and its side files.

    SQLite creates the WAL and shared-memory files with the mode of the database file, so they are
    0600 as well.
    """
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    os.close(descriptor)
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in SIDE_FILES)):
        with suppress(FileNotFoundError):
            if candidate.stat().st_mode & 0o077:
                candidate.chmod(PRIVATE_FILE_MODE)


@contextmanager
def _neutral_integrity_error() -> Iterator[None]:
    """Raise SQLite's constraint errors as :class:`IntegrityError`."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(str(exc)) from exc


@contextmanager
def _numbers_in_range() -> Iterator[None]:
    """Turn SQLite's OverflowError (an integer beyond 64 bits in the request) into a 400."""
    try:
        yield
    except OverflowError as exc:
        from flow_local.errors import bad_request

        raise bad_request("a number in the request is too large") from exc


def to_json(value: Any) -> str:
    """Serialise a value for a JSON column."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def from_json(text: str | None, default: Any = None) -> Any:
    """Read a JSON column (``default`` for NULL)."""
    if text is None:
        return default
    return json.loads(text)
