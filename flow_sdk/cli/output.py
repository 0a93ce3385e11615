"""Printing for the ``flow`` command: tables for people, JSON, YAML or TSV for scripts, one line for errors.

The format is chosen once per command with ``--output`` (``-o``) on the root command, or ``--json`` on
a subcommand. Tables use colours and box characters only on a terminal, and never with ``NO_COLOR``.
rich is imported on first use, so ``flow --help`` does not pay for it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

__all__ = [
    "OutputFormat",
    "echo",
    "echo_err",
    "print_data",
    "print_json",
    "print_record",
    "print_table",
    "set_output_format",
    "status",
]

_WIDE = 200


class OutputFormat(StrEnum):
    """How listings and records are printed."""

    TABLE = "table"
    JSON = "json"
    YAML = "yaml"
    TSV = "tsv"


_chosen: dict[str, OutputFormat] = {"format": OutputFormat.TABLE}
_consoles: dict[bool, Console] = {}


def set_output_format(value: OutputFormat) -> None:
    """Choose how :func:`print_table`, :func:`print_record` and :func:`print_data` print."""
    _chosen["format"] = value


def output_format() -> OutputFormat:
    """The chosen output format."""
    return _chosen["format"]


def fancy(stream: Any) -> bool:
    """True when ``stream`` is a terminal and ``NO_COLOR`` is not set: colours and box characters allowed."""
    return bool(stream.isatty()) and not os.environ.get("NO_COLOR")


def _console(stderr: bool) -> Console:
    existing = _consoles.get(stderr)
    if existing is not None:
        return existing
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    plain = not fancy(stream)
    created = Console(
        stderr=stderr,
        width=_WIDE if not stream.isatty() else None,
        soft_wrap=False,
        highlight=False,
        no_color=plain,
        color_system=None if plain else "auto",
    )
    _consoles[stderr] = created
    return created


def echo(text: str) -> None:
    """Print one line of plain text on stdout (no markup)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def echo_err(text: str) -> None:
    """Print one line of plain text on stderr (no markup)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def status(message: str) -> AbstractContextManager[Any]:
    """A spinner with ``message`` on stderr while a block runs (nothing when stderr is not a terminal)."""
    if not fancy(sys.stderr):
        from contextlib import nullcontext

        return nullcontext(_SilentStatus())
    return _console(stderr=True).status(message)


class _SilentStatus:
    """Stands in for a rich status when nothing is drawn."""

    def update(self, message: str) -> None:
        """Ignore the new message."""


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout (no markup, no colours)."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def _print_yaml(data: Any) -> None:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        raise SystemExit("error: --output yaml needs PyYAML: pip install pyyaml") from None
    plain = json.loads(json.dumps(data, default=str))
    sys.stdout.write(yaml.safe_dump(plain, sort_keys=True, allow_unicode=True))  # pyright: ignore[reportUnknownMemberType]
    sys.stdout.flush()


def print_data(data: Any) -> None:
    """Print a whole document in the chosen machine format (JSON for ``table`` and ``tsv``)."""
    if output_format() is OutputFormat.YAML:
        _print_yaml(data)
    else:
        print_json(data)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _cell(value: Any) -> Text:
    """A table cell shown literally (no rich markup interpretation)."""
    from rich.text import Text

    return Text(_text(value))


def _tsv_field(value: Any) -> str:
    return _text(value).replace("\t", " ").replace("\n", " ")


def print_table(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, title: str | None = None
) -> None:
    """Print ``rows`` as a table of ``columns`` (or the whole rows as JSON/YAML, or TSV of ``columns``)."""
    items = list(rows)
    chosen = output_format()
    if chosen in (OutputFormat.JSON, OutputFormat.YAML):
        print_data(items)
        return
    if chosen is OutputFormat.TSV:
        lines = ["\t".join(columns)]
        lines += ["\t".join(_tsv_field(item.get(column)) for column in columns) for item in items]
        echo("\n".join(lines))
        return
    if not items:
        echo(f"no {title or 'items'}")
        return
    from rich.table import Table

    table = Table(title=title, title_justify="left", **_table_style())
    for column in columns:
        table.add_column(column, no_wrap=column in ("id", "execution_id", "created_at", "updated_at"))
    for item in items:
        table.add_row(*(_cell(item.get(column)) for column in columns))
    _console(stderr=False).print(table)


def print_record(record: Mapping[str, Any], *, title: str | None = None) -> None:
    """Print one document as a field/value table (or JSON, YAML, or TSV lines ``field<TAB>value``)."""
    chosen = output_format()
    if chosen in (OutputFormat.JSON, OutputFormat.YAML):
        print_data(dict(record))
        return
    if chosen is OutputFormat.TSV:
        echo("\n".join(f"{key}\t{_tsv_field(value)}" for key, value in record.items()))
        return
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=False, **_table_style())
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in record.items():
        table.add_row(key, _cell(value))
    _console(stderr=False).print(table)


def _table_style() -> dict[str, Any]:
    """Box characters on a terminal; plain aligned columns when piped or with NO_COLOR."""
    if fancy(sys.stdout):
        return {}
    return {"box": None, "pad_edge": False, "show_edge": False}
