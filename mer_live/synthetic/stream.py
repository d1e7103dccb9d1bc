"""A live stream: a still face in a larger frame with micro-motions at known times, and their truth.

For the demo source (mer_live.streaming.demo), the demo model's build and the engine's tests; the spotter's
harder streams, with blinks, talk and head motion among the micro-expressions, are in
mer_live.synthetic.distractors.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from mer_live.synthetic.render import (MOTIONS, crop_to_frame_scale, motion_field, motion_for, random_look,
                                       render_frames, render_still, rise_and_fall)


@dataclasses.dataclass(frozen=True)
class StreamEvent:
    label_name: str
    start_frame: int
    apex_frame: int
    end_frame: int                # last frame of the motion (inclusive)
    start_s: float
    end_s: float
    face_box: tuple[float, float, float, float]


def make_stream(events: Sequence[tuple[float, str]], duration_s: float, fps: float = 30.0, seed: int = 0,
                frame_size: tuple[int, int] = (240, 320), event_s: float = 0.4, amplitude_px: float = 2.5,
                noise: float = 1.0) -> tuple[np.ndarray, list[StreamEvent]]:
    """A still face in a larger frame with micro-motions at known times: (frames (N, H, W, 3) RGB uint8, truth).

    Each event (start_s, label_name) rises to its apex at start + event_s / 2 and is gone at start + event_s;
    amplitude_px is the peak motion measured in a 64-px face crop (scaled to the frame's face size).
    """
    n = int(round(duration_s * fps))
    if n < 1:
        raise ValueError(f"duration_s * fps must give at least one frame, got {duration_s} s at {fps} fps")
    rng = np.random.default_rng([seed, 99])
    look = random_look(rng, tuple(frame_size), raw=True)
    base = render_still(look)
    span = max(int(round(event_s * fps)), 3)
    scale = amplitude_px * crop_to_frame_scale(look)
    displacement = np.zeros(n)
    motion_at: list[str | None] = [None] * n
    fields: dict[str, np.ndarray] = {}
    truth: list[StreamEvent] = []
    for start_s, label in sorted(events):
        start = int(round(start_s * fps))
        if not 0 <= start < n:
            raise ValueError(f"event at {start_s} s is outside the stream's {duration_s} s")
        end = min(start + span - 1, n - 1)
        if any(m is not None for m in motion_at[start:end + 1]):
            raise ValueError(f"event at {start_s} s overlaps the previous one; space events >= {event_s} s apart")
        motion = motion_for(label)
        if motion not in fields:
            fields[motion] = motion_field(look, MOTIONS[motion])
        displacement[start:end + 1] = rise_and_fall(span, span // 2)[: end - start + 1] * scale
        motion_at[start:end + 1] = [motion] * (end - start + 1)
        truth.append(StreamEvent(label_name=label, start_frame=start, apex_frame=min(start + span // 2, end),
                                 end_frame=end, start_s=start / fps, end_s=(end + 1) / fps, face_box=look.face_box()))
    still = np.zeros(base.shape[:2] + (2,), np.float32)
    frames = np.empty((n, frame_size[0], frame_size[1], 3), np.uint8)
    for i in range(n):
        field = fields[motion_at[i]] if motion_at[i] is not None else still
        frames[i] = render_frames(look, base, field, displacement[i:i + 1], rng, noise)[0]
    return frames, truth
