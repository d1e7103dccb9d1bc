"""What the streaming engine tells its listeners: frames, window results, events, status.

Plain dataclasses with no Qt in them, so the headless runner, the GUI and the tests share one vocabulary.
Listener callbacks are called from the engine's threads; a GUI must hand them to its UI thread
(mer_live.streaming.protocols.EngineListener).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

EVENT_KINDS = ("micro", "macro")


@dataclass(frozen=True)
class FrameInfo:
    """One captured frame, as shown to the user."""

    index: int
    timestamp: float                 # capture time in seconds since the source started
    frame: np.ndarray                # (H, W, 3) RGB uint8, the full frame
    face_box: tuple[int, int, int, int] | None   # (x1, y1, x2, y2) crop box in frame pixels, None if no face
    capture_fps: float = 0.0
    spot_state: str = ""             # the region spotter's state after this frame (spotting.SPOTTER_STATES;
                                     # "" without a face box or with the first spotter)


@dataclass(frozen=True)
class WindowResult:
    """The classification of one sliding window."""

    window_index: int
    t_start: float                   # timestamp of the window's first frame
    t_end: float                     # timestamp of the window's last frame
    probs: np.ndarray                # (num_classes,) float32, sums to 1
    class_names: tuple[str, ...]
    spot_score: float                # the spotter's score at the window's last frame (its threshold: a candidate)
    is_candidate: bool               # the spotter saw facial motion at the window's last frame
    latency_s: float                 # from the window's last frame capture to this result
    stage_s: dict = field(default_factory=dict)   # this window's share of each stage it went through (s)
    spot_state: str = ""             # the region spotter at the window's last frame: watching, settling,
                                     # paused-motion or paused-registration ("" for the first spotter)

    @property
    def top_class(self) -> str:
        return self.class_names[int(np.argmax(self.probs))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.probs))


@dataclass(frozen=True)
class MicroExpressionEvent:
    """A spotted facial expression, reported once it ended: a micro-expression (at most 0.5 s) or a
    macro-expression (longer). Only micro-expressions are classified; `label` is "" otherwise or when the
    engine runs without a classifier."""

    start: float                     # stream seconds, first frame of the motion
    end: float                       # stream seconds, end of the motion
    label: str
    confidence: float
    peak_score: float = 0.0          # the spotter's peak score over the event
    kind: str = "micro"              # "micro" | "macro"
    reported_at: float = math.nan    # stream seconds at which the engine emitted it (NaN: not emitted yet)

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"event kind must be one of {EVENT_KINDS}, got {self.kind!r}")


@dataclass(frozen=True)
class StatusMessage:
    level: str                       # "info" | "warning" | "error"
    text: str                        # says what happened and what to do


@dataclass(frozen=True)
class StageTiming:
    """How long one pipeline stage takes (recent calls)."""

    median_ms: float
    p95_ms: float
    count: int


@dataclass
class EngineStats:
    capture_fps: float = 0.0
    inference_rate: float = 0.0      # stride windows classified per second
    latency_ms: float = 0.0          # median window-end-to-result latency
    provider: str = ""
    frames: int = 0
    windows: int = 0                 # stride windows classified
    event_clips: int = 0             # spotted events classified on their own clip (not stride windows)
    dropped_windows: int = 0         # stale windows replaced by newer ones before inference
    stages: dict = field(default_factory=dict)   # stage name -> StageTiming (mer_live.streaming.timings)
    watch: dict = field(default_factory=dict)    # region spotter state -> face frames spent in it
    extra: dict = field(default_factory=dict)
