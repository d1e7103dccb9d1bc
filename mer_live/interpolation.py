"""Bring a clip to a fixed number of frames: linear in time, or the Temporal Interpolation Model (TIM).

Both take and give uint8 frames, and a clip already at the asked length passes through unchanged.
"""
from __future__ import annotations

import numpy as np

from mer_live.choices import unknown_choice

INTERPOLATIONS = ("linear", "tim")


def _check(clip: np.ndarray, length: int) -> None:
    if not isinstance(clip, np.ndarray) or clip.dtype != np.uint8:
        raise TypeError(f"interpolation takes a uint8 numpy clip, got {getattr(clip, 'dtype', type(clip))}")
    if clip.ndim not in (3, 4) or len(clip) == 0:
        raise ValueError(f"expected a clip of shape (T, H, W) or (T, H, W, C) with T >= 1, got {clip.shape}")
    if length < 1:
        raise ValueError(f"target length must be >= 1, got {length}")


def _trivial(clip: np.ndarray, length: int) -> np.ndarray | None:
    """Validate; a clip already at the length passes unchanged and a single frame is repeated."""
    _check(clip, length)
    if len(clip) == length:
        return clip.copy()
    if len(clip) == 1:
        return np.repeat(clip, length, axis=0)
    return None


def linear(clip: np.ndarray, length: int) -> np.ndarray:
    """Linear resampling along time, first and last frames kept (align_corners=True).

    The seed used trilinear resampling of the (T, H, W) volume to (length, H, W); with H and W unchanged that
    is linear interpolation between the two nearest frames in time.
    """
    trivial = _trivial(clip, length)
    if trivial is not None:
        return trivial
    n = len(clip)
    pos = np.linspace(0.0, n - 1, length)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = (pos - lo).reshape((-1,) + (1,) * (clip.ndim - 1)).astype(np.float32)
    out = clip[lo].astype(np.float32) * (1.0 - w) + clip[hi].astype(np.float32) * w
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def tim_basis(n: int, t: np.ndarray) -> np.ndarray:
    """The path graph's non-constant Laplacian eigenvectors y_k(t), k = 1..n-1, as rows: (n-1, len(t)).

    y_k(t) = sin(pi k t + pi (n - k) / (2 n)); at t = i/n (i = 1..n) these are the DCT-II basis vectors,
    so together with the constant vector they span every clip of n frames exactly.
    """
    k = np.arange(1, n, dtype=np.float64)[:, None]
    return np.sin(np.pi * k * np.asarray(t, dtype=np.float64)[None, :] + np.pi * (n - k) / (2 * n))


def tim_weights(n: int, length: int) -> np.ndarray:
    """(n, length) matrix C with output_j = mean + sum_i (x_i - mean) C[i, j]."""
    t_in = np.arange(1, n + 1) / n
    t_out = np.linspace(1.0 / n, 1.0, length)
    y_in = tim_basis(n, t_in)        # rows orthogonal, each with squared norm n / 2
    y_out = tim_basis(n, t_out)
    return (2.0 / n) * y_in.T @ y_out


def tim(clip: np.ndarray, length: int) -> np.ndarray:
    """Temporal Interpolation Model (Zhou, Zhao, Pietikainen, CVPR 2011).

    Each frame is a point on a curve parametrised by the path graph's Laplacian eigenvectors; the clip is
    re-sampled at `length` evenly spaced positions on that curve from the first frame to the last. Unlike the
    seed (which took the eigenvectors from an unsorted decomposition and so dropped the wrong one), the curve
    passes through every input frame, to rounding.
    """
    trivial = _trivial(clip, length)
    if trivial is not None:
        return trivial
    n = len(clip)
    x = clip.reshape(n, -1).astype(np.float32)
    mean = x.mean(axis=0, keepdims=True)
    c = tim_weights(n, length).astype(np.float32)
    out = mean + c.T @ (x - mean)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape((length,) + clip.shape[1:])


def interpolate(clip: np.ndarray, length: int, method: str = "linear") -> np.ndarray:
    """Bring `clip` (T, H, W[, C]) uint8 to `length` frames with `method` in INTERPOLATIONS."""
    if method == "linear":
        return linear(clip, length)
    if method == "tim":
        return tim(clip, length)
    raise ValueError(unknown_choice("interpolation", method, INTERPOLATIONS))
