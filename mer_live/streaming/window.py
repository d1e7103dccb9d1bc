"""The sliding window: a ring buffer of the recent face crops, and its model input.

The buffer keeps `history_seconds` (at least the model's `clip_seconds`): the newest clip is the sliding
window, and an older stretch (`span`) is the window a spotted event is classified on. A window is brought
to the model's frame count with the model's own interpolation, flow and features (mer_live.features, the
functions training used), so the live input matches what the model learned on.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass

import cv2
import numpy as np

from mer_live.flow import OPENCV, FlowBackend
from mer_live.spec import ModelSpec
from mer_live.streaming.sources import TimestampError


@dataclass(frozen=True)
class Window:
    index: int
    t_start: float                  # timestamp of the first frame
    t_end: float                    # timestamp of the last frame
    frames: np.ndarray              # (n, h, w, 3) RGB uint8 crops at the model's image size
    captured_at: float              # perf_counter() when the last frame was read (for latency)
    box_changes: int                # how many times the crop box had changed when these frames were cropped
    spot_score: float = 0.0         # the region spotter's score at the last frame
    candidate: bool = False         # the region spotter saw facial motion at the last frame
    spot_state: str = ""            # the region spotter's state at the last frame (spotting.SPOTTER_STATES)


@dataclass(frozen=True)
class PreparedWindow:
    features: np.ndarray            # (num_frames, C, h, w) float32, the model input for one clip
    flow_magnitude: np.ndarray      # (num_frames,) mean flow magnitude of each interpolated step
    step_times: np.ndarray          # (num_frames,) time of each flow step (mid-point of its frame pair)


class WindowBuffer:
    """Crops with their timestamps over the last `history_seconds` (default: one clip); old frames fall out
    as new ones come in. Timestamps must increase."""

    def __init__(self, clip_seconds: float, image_size: tuple[int, int], history_seconds: float | None = None):
        if clip_seconds <= 0:
            raise ValueError(f"clip_seconds must be > 0, got {clip_seconds}")
        self.clip_seconds = float(clip_seconds)
        self.history_seconds = max(float(history_seconds or 0.0), self.clip_seconds)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self._frames: collections.deque = collections.deque()
        self._times: collections.deque = collections.deque()
        self._frame_period = 0.0

    def __len__(self) -> int:
        return len(self._frames)

    def clear(self) -> None:
        self._frames.clear()
        self._times.clear()

    def push(self, timestamp: float, crop_rgb: np.ndarray) -> None:
        """Add one face crop (any size; resized to the model's size here); `TimestampError` (a ValueError)
        unless the timestamp is later than the previous one."""
        if self._times and timestamp <= self._times[-1]:
            raise TimestampError(f"frame timestamps must increase: {timestamp} s came after {self._times[-1]} s; "
                             f"a source must give each frame a later timestamp than the one before")
        h, w = self.image_size
        if crop_rgb.shape[:2] != (h, w):
            crop_rgb = cv2.resize(crop_rgb, (w, h), interpolation=cv2.INTER_AREA)
        if self._times:
            self._frame_period = timestamp - self._times[-1]
        self._frames.append(crop_rgb)
        self._times.append(float(timestamp))
        # keep frames in (t_newest - history_seconds, t_newest]
        while self._times and self._times[0] <= timestamp - self.history_seconds + 1e-9:
            self._times.popleft()
            self._frames.popleft()

    def _clip_start(self) -> int:
        """Index of the first frame of the newest clip: frames in (t_newest - clip_seconds, t_newest]."""
        newest = self._times[-1]
        for i, t in enumerate(self._times):
            if t > newest - self.clip_seconds + 1e-9:
                return i
        return len(self._times) - 1

    def full(self) -> bool:
        """Holds (almost) a whole clip: its first frame is within one frame period of clip_seconds ago."""
        if len(self._times) < 3:
            return False
        first = self._clip_start()
        if len(self._times) - first < 3:
            return False
        span = self._times[-1] - self._times[first]
        return span + self._frame_period >= self.clip_seconds - 1e-6

    def snapshot(self, index: int, captured_at: float, box_changes: int, spot_score: float = 0.0,
                 candidate: bool = False, spot_state: str = "") -> Window:
        """The newest clip as a Window."""
        first = self._clip_start()
        frames = list(self._frames)[first:]
        return Window(index=index, t_start=self._times[first], t_end=self._times[-1], frames=np.stack(frames),
                      captured_at=captured_at, box_changes=box_changes, spot_score=spot_score,
                      candidate=candidate, spot_state=spot_state)

    def span(self, t_centre: float, captured_at: float, box_changes: int) -> Window | None:
        """The clip of `clip_seconds` centred on `t_centre` (shifted to lie within the stored frames, as
        far as they reach), for classifying an event; None when fewer than 3 frames are stored."""
        if len(self._times) < 3:
            return None
        times = np.asarray(self._times)
        t0 = min(max(t_centre - self.clip_seconds / 2, times[0]), max(times[-1] - self.clip_seconds, times[0]))
        chosen = np.flatnonzero((times >= t0 - 1e-9) & (times < t0 + self.clip_seconds - 1e-9))
        if len(chosen) < 3:
            chosen = np.arange(max(0, len(times) - 3), len(times))
        frames = [self._frames[i] for i in chosen]
        return Window(index=-1, t_start=float(times[chosen[0]]), t_end=float(times[chosen[-1]]),
                      frames=np.stack(frames), captured_at=captured_at, box_changes=box_changes)


def prepare_window(window: Window, spec: ModelSpec, motion_profile: bool = True,
                   flow_backend: FlowBackend = OPENCV) -> PreparedWindow:
    """Resize, interpolate, flow and compose features exactly as training did; also the flow profile
    (the legacy spotter's input; with `motion_profile=False` an appearance-only model skips its flow)."""
    from mer_live.features import compose_features, prepare_clip, uses_flow
    from mer_live.flow import clip_flow, live_flow_threads

    prepared = prepare_clip(window.frames, spec.num_frames, tuple(spec.image_size), spec.interpolation,
                            spec.feature, flow_threads=live_flow_threads(), flow_backend=flow_backend)
    features = compose_features(prepared.frames, prepared.flow, spec.feature, spec.num_frames)
    flow = prepared.flow
    if flow is None and not motion_profile:
        return PreparedWindow(features=np.ascontiguousarray(features, dtype=np.float32),
                              flow_magnitude=np.zeros(0, np.float32), step_times=np.zeros(0))
    if flow is None:                       # appearance-only model: the legacy spotter still needs motion
        from mer_live.interpolation import interpolate

        flow = clip_flow(interpolate(window.frames, spec.num_frames + 1, spec.interpolation),
                         backend=flow_backend)
    if not uses_flow(spec.feature) and len(flow) != spec.num_frames:
        flow = flow[: spec.num_frames]
    magnitude = flow[..., 0].reshape(len(flow), -1).mean(axis=1).astype(np.float32)
    step = (window.t_end - window.t_start) / max(len(flow), 1)
    step_times = window.t_start + (np.arange(len(flow)) + 0.5) * step
    return PreparedWindow(features=np.ascontiguousarray(features, dtype=np.float32),
                          flow_magnitude=magnitude, step_times=step_times)
