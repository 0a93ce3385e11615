"""Summary statistics of repeated measurements."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Stat:
    """The median and spread of repeated samples of one figure.

    Attributes:
        median: The median sample.
        q1: The first quartile (equal to the median for fewer than two samples).
        q3: The third quartile.
        low: The smallest sample.
        high: The largest sample.
        n: How many samples.
    """

    median: float
    q1: float
    q3: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return asdict(self)


def summarize(samples: list[float]) -> Stat:
    """Summarize samples into a `Stat`.

    Raises:
        ValueError: When there are no samples.
    """
    if not samples:
        raise ValueError("summarize needs at least one sample")
    ordered = sorted(samples)
    median = statistics.median(ordered)
    if len(ordered) < 2:
        q1 = q3 = median
    else:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return Stat(median=median, q1=q1, q3=q3, low=ordered[0], high=ordered[-1], n=len(ordered))


def paired_ratio(values: list[float], baselines: list[float]) -> Stat:
    """The spread of ratios of samples taken side by side (value i over baseline i).

    Pairs are measured back to back, so a burst of load from elsewhere on the machine moves both
    members of a pair; the median of the paired ratios is steadier than the ratio of medians.

    Raises:
        ValueError: When the lists are empty or of different lengths.
    """
    if len(values) != len(baselines):
        raise ValueError(f"paired_ratio needs lists of equal length, got {len(values)} and {len(baselines)}")
    return summarize([value / baseline for value, baseline in zip(values, baselines, strict=True)])
