"""Figures the benchmarks print from their samples."""

from __future__ import annotations


def percentile(values: list[float], q: float) -> float:
    """The value at the ``q`` quantile (0–1) of the samples, to 0.1; 0.0 when there are none."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0
