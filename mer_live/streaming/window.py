"""The sliding window: a ring buffer of the last `clip_seconds` of face crops, and its model input.

The window is brought to the model's frame count with the model's own interpolation, flow and features
(mer_live.features, the functions training used), so the live input matches what the model learned on.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass

import cv2
import numpy as np

from mer_live.spec import ModelSpec


@dataclass(frozen=True)
class Window:
    index: int
    t_start: float                  # timestamp of the first frame
    t_end: float                    # timestamp of the last frame
    frames: np.ndarray              # (n, h, w, 3) RGB uint8 crops at the model's image size
    captured_at: float              # perf_counter() when the last frame was read (for latency)
    anchor_epoch: int               # which crop box the frames came from (changes on re-anchor)


@dataclass(frozen=True)
class PreparedWindow:
    features: np.ndarray            # (num_frames, C, h, w) float32, the model input for one clip
    flow_magnitude: np.ndarray      # (num_frames,) mean flow magnitude of each interpolated step
    step_times: np.ndarray          # (num_frames,) time of each flow step (mid-point of its frame pair)


class WindowBuffer:
    """The last `clip_seconds` of crops with their timestamps; old frames fall out as new ones come in."""

    def __init__(self, clip_seconds: float, image_size: tuple[int, int]):
        if clip_seconds <= 0:
            raise ValueError(f"clip_seconds must be > 0, got {clip_seconds}")
        self.clip_seconds = float(clip_seconds)
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
        """Add one face crop (any size; resized to the model's size here)."""
        h, w = self.image_size
        if crop_rgb.shape[:2] != (h, w):
            crop_rgb = cv2.resize(crop_rgb, (w, h), interpolation=cv2.INTER_AREA)
        if self._times:
            self._frame_period = max(timestamp - self._times[-1], 0.0)
        self._frames.append(crop_rgb)
        self._times.append(float(timestamp))
        # keep frames in (t_newest - clip_seconds, t_newest]: the window spans clip_seconds of frames
        while self._times and self._times[0] <= timestamp - self.clip_seconds + 1e-9:
            self._times.popleft()
            self._frames.popleft()

    def full(self) -> bool:
        """Holds (almost) a whole clip: its first frame is within one frame period of clip_seconds ago."""
        if len(self._times) < 3:
            return False
        span = self._times[-1] - self._times[0]
        return span + self._frame_period >= self.clip_seconds - 1e-6

    def snapshot(self, index: int, captured_at: float, anchor_epoch: int) -> Window:
        return Window(index=index, t_start=self._times[0], t_end=self._times[-1],
                      frames=np.stack(self._frames), captured_at=captured_at, anchor_epoch=anchor_epoch)


def prepare_window(window: Window, spec: ModelSpec) -> PreparedWindow:
    """Resize, interpolate, flow and compose features exactly as training did; also the flow profile."""
    from mer_live.features import compose_features, prepare_clip, uses_flow
    from mer_live.flow import clip_flow

    prepared = prepare_clip(window.frames, spec.num_frames, tuple(spec.image_size), spec.interpolation,
                            spec.feature)
    features = compose_features(prepared.frames, prepared.flow, spec.feature, spec.num_frames)
    flow = prepared.flow
    if flow is None:                       # appearance-only model: spotting still needs motion
        from mer_live.interpolation import interpolate

        flow = clip_flow(interpolate(window.frames, spec.num_frames + 1, spec.interpolation))
    if not uses_flow(spec.feature) and len(flow) != spec.num_frames:
        flow = flow[: spec.num_frames]
    magnitude = flow[..., 0].reshape(len(flow), -1).mean(axis=1).astype(np.float32)
    step = (window.t_end - window.t_start) / max(len(flow), 1)
    step_times = window.t_start + (np.arange(len(flow)) + 0.5) * step
    return PreparedWindow(features=np.ascontiguousarray(features, dtype=np.float32),
                          flow_magnitude=magnitude, step_times=step_times)
