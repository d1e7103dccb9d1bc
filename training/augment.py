"""Training augmentation applied to cached frames AND their optical flow, so flow is never recomputed.

The original code's augmentation (Hong et al. 2022), drawn once per clip and applied to every frame alike:
shift-scale-rotate (scale +-10 %, rotate +-10 deg, no shift, border cv2.BORDER_REFLECT, p 0.5), then
horizontal flip (p 0.5).
(The resize happens before caching.) Flow is a field of displacement vectors, so a geometric transform
moves it twice: the field is warped like an image and every vector is mapped by the transform's linear
part (a mirror negates dx; a rotation/scale rotates/scales (dx, dy)); the magnitude is then recomputed.
This approximates recomputing flow on the augmented frames (the original code's order, --augment-order
original): exact for a mirror, not for rotation or scale, where Farneback sees other borders
(tests/test_training_augment.py bounds it on a moving texture; benchmarks/bench_data_cache.py measures it on
synthetic faces).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SCALE_LIMIT = 0.10
ROTATE_LIMIT_DEG = 10.0
SSR_PROBABILITY = 0.5
FLIP_PROBABILITY = 0.5
BORDER = cv2.BORDER_REFLECT    # the original code's (albumentations ShiftScaleRotate border_mode)


@dataclass(frozen=True)
class AugmentParams:
    """One draw of the augmentation for one clip."""

    angle_deg: float = 0.0   # counter-clockwise, about the image centre
    scale: float = 1.0
    flip: bool = False

    @property
    def is_identity(self) -> bool:
        return self.angle_deg == 0.0 and self.scale == 1.0 and not self.flip


def draw_params(rng: np.random.Generator) -> AugmentParams:
    """Draw the original code's augmentation for one clip."""
    angle, scale = 0.0, 1.0
    if rng.random() < SSR_PROBABILITY:
        scale = 1.0 + float(rng.uniform(-SCALE_LIMIT, SCALE_LIMIT))
        angle = float(rng.uniform(-ROTATE_LIMIT_DEG, ROTATE_LIMIT_DEG))
    flip = bool(rng.random() < FLIP_PROBABILITY)
    return AugmentParams(angle_deg=angle, scale=scale, flip=flip)


def affine_matrix(params: AugmentParams, height: int, width: int) -> np.ndarray:
    """2x3 matrix mapping source pixel coordinates to output ones (rotate/scale, then mirror)."""
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2.0, (height - 1) / 2.0), params.angle_deg, params.scale)
    if params.flip:
        mirror = np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        matrix = (mirror @ np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
    return matrix


def _warp_stack(stack: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Warp every (H, W, C) image of an (N, H, W, C) stack with the same matrix."""
    h, w = stack.shape[1:3]
    return np.stack([
        cv2.warpAffine(np.ascontiguousarray(image), matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=BORDER)
        .reshape(h, w, -1) for image in stack
    ])


def _map_vectors(matrix: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each (dx, dy) mapped by the transform's linear part; returns (magnitude, dx, dy) of the mapped vectors."""
    (a, b), (c, d) = matrix[:, :2].astype(np.float32)
    new_dx = a * dx + b * dy
    new_dy = c * dx + d * dy
    return np.sqrt(new_dx * new_dx + new_dy * new_dy), new_dx, new_dy


def augment_frames(frames: np.ndarray, params: AugmentParams) -> np.ndarray:
    """(T, H, W, C) uint8 -> the same shape, every frame transformed alike."""
    if params.is_identity:
        return frames
    if params.angle_deg == 0.0 and params.scale == 1.0:
        return np.ascontiguousarray(frames[:, :, ::-1])
    return _warp_stack(frames, affine_matrix(params, frames.shape[1], frames.shape[2]))


def augment_flow(flow: np.ndarray, params: AugmentParams) -> np.ndarray:
    """(T, H, W, 3) float32 flow (magnitude, dx, dy) -> the flow of the transformed frames."""
    if params.is_identity:
        return flow
    h, w = flow.shape[1:3]
    matrix = affine_matrix(params, h, w)
    if params.angle_deg == 0.0 and params.scale == 1.0:
        vectors = flow[:, :, ::-1, 1:3]
    else:
        vectors = _warp_stack(np.ascontiguousarray(flow[..., 1:3]), matrix)
    return np.stack(_map_vectors(matrix, vectors[..., 0], vectors[..., 1]), axis=-1).astype(np.float32, copy=False)


def augment_features(features: np.ndarray, params: AugmentParams, flow_channels: bool) -> np.ndarray:
    """Augment composed model input (T, C, H, W) float32 in one pass: every plane warped alike; with flow
    (channels 0-2 = magnitude, dx, dy) the vectors mapped by the linear part and the magnitude recomputed.

    Same as composing the features of augment_frames/augment_flow output, up to the rounding of uint8
    frames (tests/test_training_augment.py checks it), at a fraction of the cost: no RGB, no re-compose.
    """
    if params.is_identity:
        return features
    t, c, h, w = features.shape
    matrix = affine_matrix(params, h, w)
    first = 1 if flow_channels else 0  # the magnitude plane is recomputed, not warped
    if params.angle_deg == 0.0 and params.scale == 1.0:
        out = np.ascontiguousarray(features[..., ::-1])
    else:
        out = np.empty_like(features)
        for i in range(t):
            for j in range(first, c):
                cv2.warpAffine(features[i, j], matrix, (w, h), dst=out[i, j], flags=cv2.INTER_LINEAR,
                               borderMode=BORDER)
    if flow_channels:
        out[:, 0], out[:, 1], out[:, 2] = _map_vectors(matrix, out[:, 1], out[:, 2])
    return out
