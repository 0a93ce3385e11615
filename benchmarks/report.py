"""Rows of the result table: how a figure compares to its bar, printed with rich and written as JSON."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.stats import Stat

MET = "met"
MISSED = "missed"
NOT_AVAILABLE = "not available"
INFO = "info"
TIMES = "\N{MULTIPLICATION SIGN}"
DASH = "\N{EN DASH}"


@dataclass
class Row:
    """One figure of the run, its baseline, and whether it meets its bar.

    Attributes:
        key: A stable identifier of the figure (used by tests and the JSON).
        figure: What is measured, in words.
        baseline: What it is compared with, in words ("—" when nothing).
        unit: The unit of ``value`` and ``baseline_value``.
        bar: The bar, in words (for example "≤ 1.10" followed by a multiplication sign).
        status: One of "met", "missed", "not available", "info".
        value: The measured figure.
        baseline_value: The baseline measured in the same run.
        ratio: value / baseline median (``None`` without a baseline).
        reason: Why the figure is not available or missed, or a note.
        extra: Further numbers (request counts, throughput, checks).
    """

    key: str
    figure: str
    baseline: str
    unit: str
    bar: str
    status: str = NOT_AVAILABLE
    value: Stat | None = None
    baseline_value: Stat | None = None
    ratio: float | None = None
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def unavailable(self, reason: str) -> Row:
        """Mark the row as not available, with the reason; returns the row."""
        self.status = NOT_AVAILABLE
        self.reason = reason
        return self

    def as_dict(self) -> dict[str, Any]:
        """The row as a JSON-ready dict."""
        return {
            "key": self.key,
            "figure": self.figure,
            "baseline": self.baseline,
            "unit": self.unit,
            "bar": self.bar,
            "status": self.status,
            "value": self.value.as_dict() if self.value else None,
            "baseline_value": self.baseline_value.as_dict() if self.baseline_value else None,
            "ratio": self.ratio,
            "reason": self.reason,
            "extra": self.extra,
        }


def verdict(ok: bool) -> str:
    """ "met" when ``ok``, else "missed"."""
    return MET if ok else MISSED


def fmt(number: float | None) -> str:
    """A number with three significant figures, or "—"."""
    if number is None or math.isnan(number):
        return "—"
    if abs(number) >= 1000:
        return f"{number:,.0f}"
    return f"{number:.3g}"


def spread(stat: Stat | None) -> str:
    """The interquartile range and extremes of a stat, in words."""
    if stat is None:
        return "—"
    return f"IQR {fmt(stat.q1)}{DASH}{fmt(stat.q3)}\nmin{DASH}max {fmt(stat.low)}{DASH}{fmt(stat.high)}\nn={stat.n}"


STATUS_STYLE = {MET: "bold green", MISSED: "bold red", NOT_AVAILABLE: "yellow", INFO: "cyan"}


def render(rows: list[Row], console: Console) -> None:
    """Print the rows as a table."""
    table = Table(
        title="flow-sdk benchmarks (ratios against baselines measured in this run)", show_lines=True
    )
    table.add_column("Figure (vs baseline)", ratio=4, overflow="fold")
    table.add_column("Median", justify="right", ratio=1)
    table.add_column("Spread", ratio=2)
    table.add_column("Baseline median", justify="right", ratio=1)
    table.add_column("Ratio", justify="right", ratio=1)
    table.add_column("Bar", ratio=2)
    table.add_column("Result", ratio=3, overflow="fold")
    for row in rows:
        result = f"[{STATUS_STYLE.get(row.status, '')}]{row.status}[/]"
        if row.reason:
            result += f"\n{row.reason}"
        table.add_row(
            f"{row.figure}\n[dim]vs {row.baseline}[/]",
            with_unit(row.value, row.unit),
            spread(row.value),
            with_unit(row.baseline_value, row.unit),
            f"{row.ratio:.3f}{TIMES}" if row.ratio is not None else "—",
            row.bar,
            result + extras_text(row.extra),
        )
    console.print(table)


def with_unit(stat: Stat | None, unit: str) -> str:
    """The median of a stat followed by its unit, or "—"."""
    return "—" if stat is None else f"{fmt(stat.median)} {unit}"


def extras_text(extra: dict[str, Any]) -> str:
    """The extra numbers of a row as short ``name=value`` lines."""
    if not extra:
        return ""
    parts = [f"{name}={fmt(value) if isinstance(value, float) else value}" for name, value in extra.items()]
    return "\n" + "\n".join(parts)


def write_json(rows: list[Row], meta: dict[str, Any], path: Path) -> None:
    """Write the run's metadata and rows as JSON to ``path`` (creating its folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"meta": meta, "rows": [row.as_dict() for row in rows]}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
