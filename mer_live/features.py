"""Turn a clip of uint8 frames into the (time, channels, height, width) float tensor the models take.

Two steps, so training can cache the expensive one: `prepare_clip` (resize, fixed length, optical flow) and
`compose_features` (the channels of the chosen mode). Training, export verification and the live engine all
go through these functions, so a model sees the same features everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from mer_live.suggest import unknown_choice
from mer_live.flow import OPENCV, FlowBackend, clip_flow, to_gray
from mer_live.interpolation import interpolate

FEATURE_CHANNELS = {"RGB": 3, "GRAY": 1, "GRAY_OF": 4, "ONLY_OF": 3, "RGB_OF": 6}
FEATURE_MODES = tuple(FEATURE_CHANNELS)


def check_mode(mode: str) -> str:
    if mode not in FEATURE_CHANNELS:
        raise ValueError(unknown_choice("feature mode", mode, FEATURE_MODES))
    return mode


def uses_flow(mode: str) -> bool:
    return check_mode(mode).endswith("_OF")


def frames_needed(mode: str, num_frames: int) -> int:
    """Frames the clip is brought to: one more than num_frames with flow (num_frames flows between them)."""
    return num_frames + 1 if uses_flow(mode) else num_frames


def as_size(image_size: int | Sequence[int]) -> tuple[int, int]:
    """224 or (224, 224) or (120, 64) -> (height, width)."""
    if isinstance(image_size, (int, np.integer)):
        return int(image_size), int(image_size)
    size = tuple(int(v) for v in image_size)
    if len(size) == 1:
        return size[0], size[0]
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"image size must be one int or (height, width), got {image_size!r}")
    return size  # type: ignore[return-value]


def as_rgb_clip(frames: np.ndarray) -> np.ndarray:
    """Validate a clip and give it as (T, H, W, 3) uint8 RGB; gray clips are replicated to 3 channels."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise TypeError(f"frames must be uint8 (0-255), got {frames.dtype}; convert with np.clip(x, 0, 255).astype(np.uint8)")
    if frames.ndim == 3:
        frames = frames[..., None]
    if frames.ndim != 4 or len(frames) == 0:
        raise ValueError(f"expected frames of shape (T, H, W, 3) with T >= 1, got {frames.shape}")
    channels = frames.shape[-1]
    if channels == 1:
        return np.repeat(frames, 3, axis=-1)
    if channels == 4:
        raise ValueError("frames have 4 channels (RGBA?); drop the alpha channel: frames[..., :3]")
    if channels != 3:
        raise ValueError(f"frames must have 1 (gray) or 3 (RGB) channels, got {channels} (shape {frames.shape})")
    return frames


def resize_clip(frames: np.ndarray, image_size: int | Sequence[int]) -> np.ndarray:
    """Resize every frame to (height, width); area averaging when shrinking keeps small motions un-aliased."""
    h, w = as_size(image_size)
    if frames.shape[1:3] == (h, w):
        return frames
    shrink = frames.shape[1] > h or frames.shape[2] > w
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (w, h), interpolation=interp) for f in frames])


@dataclass(frozen=True)
class PreparedClip:
    """The cacheable part of feature extraction."""

    frames: np.ndarray              # (n, h, w, 3) uint8 RGB at fixed length n = frames_needed(mode, num_frames)
    flow: np.ndarray | None         # (num_frames, h, w, 3) float32 (magnitude, dx, dy) or None without flow


def prepare_clip(frames: np.ndarray, num_frames: int, image_size: int | Sequence[int],
                 interpolation: str = "linear", mode: str = "GRAY_OF", flow_threads: int = 1,
                 flow_backend: FlowBackend = OPENCV) -> PreparedClip:
    """Resize, bring to fixed length, and compute flow when the mode needs it (`flow_threads`, `flow_backend`:
    see clip_flow)."""
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    clip = resize_clip(as_rgb_clip(frames), image_size)
    clip = interpolate(clip, frames_needed(mode, num_frames), interpolation)
    flow = clip_flow(clip, flow_threads, flow_backend) if uses_flow(mode) else None
    return PreparedClip(frames=clip, flow=flow)


def compose_features(frames: np.ndarray, flow: np.ndarray | None, mode: str, num_frames: int) -> np.ndarray:
    """Stack the mode's channels: flow (magnitude, dx, dy) first, then appearance / 255. -> (T, C, H, W) float32."""
    check_mode(mode)
    if uses_flow(mode):
        if flow is None:
            raise ValueError(f"feature mode {mode} needs optical flow; prepare the clip with that mode")
        if len(flow) != num_frames or len(frames) != num_frames + 1:
            raise ValueError(f"{mode} needs {num_frames + 1} frames and {num_frames} flows, got {len(frames)} and {len(flow)}")
        appearance = frames[:-1]
    else:
        if len(frames) != num_frames:
            raise ValueError(f"{mode} needs {num_frames} frames, got {len(frames)}")
        appearance = frames
    parts: list[np.ndarray] = []
    if uses_flow(mode):
        parts.append(np.asarray(flow, dtype=np.float32))
    if mode in ("RGB", "RGB_OF"):
        parts.append(appearance.astype(np.float32) / 255.0)
    elif mode in ("GRAY", "GRAY_OF"):
        parts.append(to_gray(appearance)[..., None].astype(np.float32) / 255.0)
    out = np.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2), dtype=np.float32)


def clip_features(frames: np.ndarray, num_frames: int, image_size: int | Sequence[int],
                  interpolation: str = "linear", mode: str = "GRAY_OF") -> np.ndarray:
    """Raw uint8 frames -> (num_frames, C, h, w) float32 model input, in one call."""
    prepared = prepare_clip(frames, num_frames, image_size, interpolation, mode)
    return compose_features(prepared.frames, prepared.flow, mode, num_frames)


def spec_features(frames: np.ndarray, spec) -> np.ndarray:
    """Features for a model described by a mer_live.spec.ModelSpec."""
    return clip_features(frames, spec.num_frames, spec.image_size, spec.interpolation, spec.feature)
