"""Per-stage timings of the engine: how long decoding, detection, cropping, spotting, features and
inference take, as median and 95th percentile over the recent past. Speed work starts from these."""
from __future__ import annotations

import collections
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import numpy as np

from mer_live.streaming.events import StageTiming

# per frame: decode, crop (face crop for the spotter and the model), spotting; when due: detect;
# per window: features (resize, interpolation, flow, channels), inference (the classifier)
STAGES = ("decode", "detect", "crop", "spotting", "features", "inference")


class StageClock:
    """Thread-safe recent durations per stage (the last `keep` of each)."""

    def __init__(self, keep: int = 1000):
        self._lock = threading.Lock()
        self._samples = {stage: collections.deque(maxlen=keep) for stage in STAGES}

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self._samples[stage].append(float(seconds))

    @contextmanager
    def time(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)

    def summary(self) -> dict[str, StageTiming]:
        """Median and p95 in milliseconds of every stage that ran."""
        with self._lock:
            samples = {stage: np.asarray(values) for stage, values in self._samples.items() if values}
        return {stage: StageTiming(median_ms=float(np.median(v)) * 1000, p95_ms=float(np.percentile(v, 95)) * 1000,
                                   count=len(v)) for stage, v in samples.items()}


def format_stages(stages: dict[str, StageTiming]) -> str:
    """One line: `decode 2.1/3.0 ms, detect ...` (median/p95) in the engine's stage order."""
    parts = [f"{stage} {stages[stage].median_ms:.1f}/{stages[stage].p95_ms:.1f}" for stage in STAGES
             if stage in stages]
    return ", ".join(parts) + " ms (median/p95)" if parts else "no stage ran"
