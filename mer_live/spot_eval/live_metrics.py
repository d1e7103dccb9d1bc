"""What no published spotter reports, because none runs live: how late an event is reported, and how many
false events a user sees per minute.

Delay = the time the engine emitted a matched event (`reported_at`, stream seconds) minus the time of its
annotation's offset frame: a causal spotter cannot report before an expression ends, so this is what a
live user waits after it. False events per minute = unmatched predictions / minutes of video processed.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def delay_stats(delays_s: Sequence[float]) -> dict:
    """{"count", "median_s", "p95_s"} of the delays (None for the figures when there are none)."""
    values = np.asarray(list(delays_s), dtype=np.float64)
    if values.size == 0:
        return {"count": 0, "median_s": None, "p95_s": None}
    return {"count": int(values.size), "median_s": float(np.median(values)),
            "p95_s": float(np.percentile(values, 95))}


def per_minute(count: int, seconds: float) -> float:
    """Events per minute of video; 0 for no video."""
    return count / (seconds / 60.0) if seconds > 0 else 0.0


def overlaps_any(interval: tuple[int, int], others: Sequence[tuple[int, int]]) -> bool:
    """Whether an inclusive frame interval shares at least one frame with any of `others`."""
    return any(min(interval[1], b) >= max(interval[0], a) for a, b in others)
