"""What the streaming engine tells its listeners: frames, window results, events, status.

Plain dataclasses with no Qt in them, so the headless runner, the GUI and the tests share one vocabulary.
Listener callbacks are called from the engine's threads; a GUI must hand them to its UI thread.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class FrameInfo:
    """One captured frame, as shown to the user."""

    index: int
    timestamp: float                 # capture time in seconds since the source started
    frame: np.ndarray                # (H, W, 3) RGB uint8, the full frame
    face_box: tuple[int, int, int, int] | None   # (x1, y1, x2, y2) crop box in frame pixels, None if no face
    capture_fps: float = 0.0


@dataclass(frozen=True)
class WindowResult:
    """The classification of one sliding window."""

    window_index: int
    t_start: float                   # timestamp of the window's first frame
    t_end: float                     # timestamp of the window's last frame
    probs: np.ndarray                # (num_classes,) float32, sums to 1
    class_names: tuple[str, ...]
    spot_score: float                # flow magnitude relative to the face's running baseline
    is_candidate: bool               # spot_score above the threshold
    latency_s: float                 # from the window's last frame capture to this result

    @property
    def top_class(self) -> str:
        return self.class_names[int(np.argmax(self.probs))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.probs))


@dataclass(frozen=True)
class MicroExpressionEvent:
    """A run of windows above the spotting threshold, reported once it ends."""

    start: float
    end: float
    label: str
    confidence: float
    peak_score: float = 0.0


@dataclass(frozen=True)
class StatusMessage:
    level: str                       # "info" | "warning" | "error"
    text: str                        # says what happened and what to do


@dataclass
class EngineStats:
    capture_fps: float = 0.0
    inference_rate: float = 0.0      # windows classified per second
    latency_ms: float = 0.0          # median window-end-to-result latency
    provider: str = ""
    frames: int = 0
    windows: int = 0
    dropped_windows: int = 0         # stale windows replaced by newer ones before inference
    extra: dict = field(default_factory=dict)


class EngineListener(Protocol):
    def on_frame(self, info: FrameInfo) -> None: ...
    def on_result(self, result: WindowResult) -> None: ...
    def on_event(self, event: MicroExpressionEvent) -> None: ...
    def on_status(self, message: StatusMessage) -> None: ...
    def on_finished(self) -> None: ...
