"""Keyset pages of the lists: each page starts right after the last row of the one before.

A list orders its rows by a unique key of columns (``created_at, id``). The first page is the first
``limit`` rows; the next one is found with a row-value comparison, ``(created_at, id) > (?, ?)`` with
the last row's values, which SQLite and PostgreSQL both answer from an index however deep the page is
(an ``OFFSET`` reads and drops every row before it) and which neither skips nor repeats a row when
others are added or deleted meanwhile. That last row's key, with the list's name, is the cursor the
platform hands out in the document's next-cursor header: opaque to clients, refused by any other list.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from flow_local._generated.routers._support import NEXT_CURSOR_HEADER
from flow_local.db import Database, Row
from flow_local.errors import bad_request

__all__ = ["Keyset", "Page", "announce", "select_page"]

CURSOR_FIELD = "cursor"


def _refused() -> Exception:
    return bad_request(
        "the cursor is not one this list answered with: send the previous page's next cursor unchanged",
        CURSOR_FIELD,
    )


@dataclass(frozen=True, slots=True)
class Keyset:
    """The order of one list: its name and the columns of its unique sort key.

    Attributes:
        list_name: Written into the cursors of this list, so a cursor of another list is refused.
        columns: The sort key, most significant first; together unique (end with the id).
        descending: Newest first (every column descending) instead of oldest first.
        integers: The columns holding integers; the others hold text. A cursor whose values are not of
            their column's kind is refused, so no comparison of an integer with text reaches the database.
    """

    list_name: str
    columns: tuple[str, ...]
    descending: bool = False
    integers: tuple[str, ...] = ()

    def order_by(self) -> str:
        """The ``ORDER BY`` clause of the list."""
        direction = " DESC" if self.descending else ""
        return " ORDER BY " + ", ".join(f"{column}{direction}" for column in self.columns)

    def after(self) -> str:
        """The condition (``AND ...``) that keeps the rows after a position, one ``?`` per column."""
        marks = ", ".join("?" for _ in self.columns)
        return f" AND ({', '.join(self.columns)}) {'<' if self.descending else '>'} ({marks})"

    def cursor_of(self, row: Row | Mapping[str, Any]) -> str:
        """The cursor of the position right after ``row``."""
        key = [self.list_name, *(row[column] for column in self.columns)]
        text = json.dumps(key, separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def position(self, cursor: str) -> list[str | int]:
        """The key values a cursor of this list holds.

        Raises:
            ApiError: 400 naming ``cursor`` when it is not a cursor of this list.
        """
        try:
            decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise _refused() from None
        if (
            not isinstance(decoded, list)
            or len(decoded) != len(self.columns) + 1
            or decoded[0] != self.list_name
            or not all(
                self._fits(column, value) for column, value in zip(self.columns, decoded[1:], strict=True)
            )
        ):
            raise _refused()
        return decoded[1:]

    def _fits(self, column: str, value: object) -> bool:
        """Whether ``value`` is of the kind ``column`` holds (an integer, or text)."""
        if column in self.integers:
            return isinstance(value, int) and not isinstance(value, bool)
        return isinstance(value, str)


@dataclass(frozen=True, slots=True)
class Page:
    """The rows of one page, and the cursor of the next one (None on the last page)."""

    rows: list[Row]
    next_cursor: str | None


def select_page(
    db: Database,
    keyset: Keyset,
    sql: str,
    params: Sequence[Any],
    *,
    limit: int,
    cursor: str | None,
    offset: int = 0,
) -> Page:
    """Run ``sql`` (a ``SELECT ... WHERE ...`` selecting the keyset's columns) for one page.

    One row more than ``limit`` is read to know whether another page follows, so the last page has no
    cursor and a client never asks for an empty one.

    Args:
        db: The database.
        keyset: The order of the list.
        sql: The statement without ``ORDER BY`` or ``LIMIT``; its ``WHERE`` holds the filters.
        params: The statement's parameters.
        limit: Rows per page.
        cursor: Where the page starts (the previous page's next cursor), or None for the first page.
        offset: Rows to skip on a first page (the older form of paging); ignored with a cursor.
    """
    values = list(params)
    if cursor is not None:
        sql += keyset.after()
        values += keyset.position(cursor)
        offset = 0
    sql += keyset.order_by() + " LIMIT ?"
    values.append(limit + 1)
    if offset:
        sql += " OFFSET ?"
        values.append(offset)
    rows = db.query(sql, values)
    if len(rows) <= limit:
        return Page(rows, None)
    return Page(rows[:limit], keyset.cursor_of(rows[limit - 1]))


def announce(headers: MutableMapping[str, str], next_cursor: str | None) -> None:
    """Name the next page in an answer's headers (the document's next-cursor header), when one follows."""
    if next_cursor is not None:
        headers[NEXT_CURSOR_HEADER] = next_cursor
