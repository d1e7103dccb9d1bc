"""Today's window spotter (before the region spotter): kept as a configuration to compare against.

`EngineConfig(spotter=LegacySpotterConfig())` reproduces mer-live's first spotter exactly; the benchmarks
run it beside the region spotter (mer_live.streaming.spotting). It scores the MODEL's window flow, so it
needs a classifier, and it cannot tell a micro-expression from a blink, a smile or the head moving.

Each window gets a score = its mean flow magnitude in the face / (running median of recent non-event
windows' magnitudes + `floor_px`). A still face scores about 1 whatever its camera noise; a micro-motion
scores several times that. Consecutive windows above `threshold` form one event, reported when the run
ends; its class is the argmax of the run's mean probabilities weighted by each window's score (the windows
at a run's edges see only a sliver of the motion), its start/end the first/last flow step above threshold.
The baseline starts afresh when the crop box re-anchors (a new box means a new face scale and noise).
"""
from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from mer_live.streaming.events import MicroExpressionEvent


@dataclass(frozen=True)
class LegacySpotterConfig:
    threshold: float = 2.0          # score above which a window is a candidate
    baseline_windows: int = 50      # how many recent non-event windows the median runs over
    min_baseline: int = 5           # windows needed before anything can be a candidate
    floor_px: float = 0.002         # added to the baseline so a noise-free (synthetic) face cannot divide by ~0


class LegacySpotter:
    """Scores windows against the running baseline of the same face."""

    def __init__(self, config: LegacySpotterConfig | None = None):
        self.config = config or LegacySpotterConfig()
        self._history: collections.deque = collections.deque(maxlen=self.config.baseline_windows)

    def reset(self) -> None:
        self._history.clear()

    @property
    def baseline(self) -> float | None:
        if len(self._history) < self.config.min_baseline:
            return None
        return float(np.median(self._history))

    def _denominator(self) -> float:
        base = float(np.median(self._history)) if self._history else 0.0
        return base + self.config.floor_px

    def score(self, window_magnitude: float) -> tuple[float, bool]:
        """(score, is_candidate) for one window; non-candidates feed the baseline."""
        ready = self.baseline is not None
        score = float(window_magnitude) / self._denominator()
        candidate = ready and score > self.config.threshold
        if not candidate:
            self._history.append(float(window_magnitude))
        return score, candidate

    def step_threshold(self) -> float:
        """Flow magnitude of a single flow step that counts as 'moving' (for event start/end)."""
        return self.config.threshold * self._denominator()


class EventBuilder:
    """Turns consecutive candidate windows into MicroExpressionEvents."""

    def __init__(self, class_names: tuple[str, ...]):
        self.class_names = tuple(class_names)
        self._probs: list[np.ndarray] = []
        self._weights: list[float] = []
        self._start: float | None = None
        self._end: float | None = None
        self._peak = 0.0

    @property
    def open(self) -> bool:
        return bool(self._probs)

    def add(self, probs: np.ndarray, score: float, candidate: bool, active_span: tuple[float, float] | None,
            window_span: tuple[float, float]) -> MicroExpressionEvent | None:
        """Feed one window in order; returns an event when a run of candidates just ended."""
        if not candidate:
            return self.close()
        start, end = active_span if active_span is not None else window_span
        self._start = start if self._start is None else min(self._start, start)
        self._end = end if self._end is None else max(self._end, end)
        self._probs.append(np.asarray(probs, dtype=np.float64))
        self._weights.append(float(score))
        self._peak = max(self._peak, float(score))
        return None

    def close(self) -> MicroExpressionEvent | None:
        """End the current run (end of stream, face lost, re-anchor) and return its event, if any."""
        if not self._probs:
            return None
        weights = np.asarray(self._weights)
        mean = (np.stack(self._probs) * weights[:, None]).sum(0) / max(weights.sum(), 1e-12)
        k = int(np.argmax(mean))
        event = MicroExpressionEvent(start=float(self._start), end=float(self._end), label=self.class_names[k],
                                     confidence=float(mean[k]), peak_score=self._peak)
        self._probs, self._weights, self._start, self._end, self._peak = [], [], None, None, 0.0
        return event


def active_span(step_magnitudes: np.ndarray, step_times: np.ndarray, threshold: float,
                half_step: float) -> tuple[float, float] | None:
    """First and last time a flow step's magnitude exceeds `threshold` (None if none does)."""
    above = np.flatnonzero(np.asarray(step_magnitudes) > threshold)
    if len(above) == 0:
        return None
    return float(step_times[above[0]] - half_step), float(step_times[above[-1]] + half_step)
