"""Latency figures as the benchmarks report them: median and 95th percentile, in milliseconds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def p50_p95(milliseconds: Sequence[float]) -> tuple[float, float]:
    """(p50, p95) of the timings, linearly interpolated as numpy does."""
    if not milliseconds:
        raise ValueError("no timings to summarise")
    p50, p95 = np.percentile(np.asarray(milliseconds, dtype=float), [50, 95])
    return float(p50), float(p95)
