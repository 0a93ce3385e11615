"""Printing for the ``flow`` command: rich tables for people, JSON for scripts, one line for errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["console", "err_console", "print_json", "print_record", "print_table"]

_WIDE = 200


def _console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else _WIDE
    return Console(stderr=stderr, width=width, soft_wrap=False, highlight=False)


console = _console(stderr=False)
err_console = _console(stderr=True)


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout (no markup, no colours)."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def _cell(value: Any) -> Text:
    """A table cell shown literally (no rich markup interpretation)."""
    if value is None:
        return Text("")
    if isinstance(value, dict | list):
        return Text(json.dumps(value, sort_keys=True))
    return Text(str(value))


def print_table(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, title: str | None = None
) -> None:
    """Print ``rows`` as a table of ``columns``; an empty list prints a one-line note."""
    items = list(rows)
    if not items:
        console.print(f"no {title or 'items'}", markup=False)
        return
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, no_wrap=column in ("id", "execution_id", "created_at", "updated_at"))
    for item in items:
        table.add_row(*(_cell(item.get(column)) for column in columns))
    console.print(table)


def print_record(record: Mapping[str, Any], *, title: str | None = None) -> None:
    """Print one document as a two-column field/value table."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in record.items():
        table.add_row(key, _cell(value))
    console.print(table)
