"""Bring a clip to a fixed number of frames: linear in time, or the Temporal Interpolation Model (TIM).

Both take and give uint8 frames, and a clip already at the asked length passes through unchanged.
"""
from __future__ import annotations

import numpy as np

from mer_live.suggest import unknown_choice

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


def linear_positions(n: int, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower frame, upper frame, float32 weight of the upper frame) of each output frame.

    The original code resampled with `F.interpolate(x, size=(length, H, W), mode="trilinear",
    align_corners=False)`: output frame j samples position (j + 0.5) * n / length - 0.5, clamped at 0,
    between its two neighbouring frames. Computed as torch's CPU kernel does: float32, the position with
    one fused multiply-add (emulated exactly in float64), so the weights are torch's to the last bit.
    """
    scale = np.float32(n) / np.float32(length)
    centres = np.arange(length, dtype=np.float64) + 0.5
    src = np.maximum((np.float64(scale) * centres - 0.5).astype(np.float32), np.float32(0.0))
    lo = np.minimum(np.floor(src).astype(np.int64), n - 1)
    weight = np.clip(src - lo.astype(np.float32), np.float32(0.0), np.float32(1.0)).astype(np.float32)
    hi = np.where(lo < n - 1, lo + 1, lo)
    return lo, hi, weight


def linear(clip: np.ndarray, length: int) -> np.ndarray:
    """Linear resampling along time, as the original code: trilinear with align_corners=False, truncated.

    With H and W unchanged the original's trilinear resampling of the (T, H, W) volume is linear
    interpolation between the two nearest frames in time at `linear_positions`. The sum is taken as torch's
    CPU kernel takes it (lower * (1 - w) fused onto upper * w), and `.byte()`'s truncation (not rounding)
    makes uint8 of it, so the result equals torch's on CPU (tests/test_interpolation.py compares).
    """
    trivial = _trivial(clip, length)
    if trivial is not None:
        return trivial
    lo, hi, w = linear_positions(len(clip), length)
    shape = (-1,) + (1,) * (clip.ndim - 1)
    upper = (clip[hi] * w.reshape(shape)).astype(np.float32)        # float32 product, rounded
    lower_weight = (np.float32(1.0) - w).astype(np.float64).reshape(shape)
    out = (clip[lo] * lower_weight + upper).astype(np.float32)      # one rounding: the fused multiply-add
    return np.clip(out, 0, 255).astype(np.uint8)                    # truncates, as torch's .byte()


def tim_basis(n: int, t: np.ndarray) -> np.ndarray:
    """The path graph's non-constant Laplacian eigenvectors y_k(t), k = 1..n-1, as rows: (n-1, len(t)).

    y_k(t) = sin(pi k t + pi (n - k) / (2 n)); at t = i/n (i = 1..n) these are the DCT-II basis vectors,
    so together with the constant vector they span every clip of n frames exactly.
    """
    k = np.arange(1, n, dtype=np.float64)[:, None]
    return np.sin(np.pi * k * np.asarray(t, dtype=np.float64)[None, :] + np.pi * (n - k) / (2 * n))


def tim_positions(n: int, length: int) -> np.ndarray:
    """Where the original code samples the TIM curve: 1/n + (1 - 1/n) * j / length for j = 1..length.

    Input frame k (1-based) sits at k/n, so the first frame is never sampled and the last always is.
    """
    return 1.0 / n + (1.0 - 1.0 / n) * np.arange(1, length + 1, dtype=np.float64) / length


def tim_weights(n: int, length: int) -> np.ndarray:
    """(n, length) matrix C with output_j = mean + sum_i (x_i - mean) C[i, j]."""
    t_in = np.arange(1, n + 1) / n
    t_out = tim_positions(n, length)
    y_in = tim_basis(n, t_in)        # rows orthogonal, each with squared norm n / 2
    y_out = tim_basis(n, t_out)
    return (2.0 / n) * y_in.T @ y_out


def tim(clip: np.ndarray, length: int) -> np.ndarray:
    """Temporal Interpolation Model (Zhou, Zhao, Pietikainen, CVPR 2011).

    Each frame is a point on a curve parametrised by the path graph's Laplacian eigenvectors; the clip is
    re-sampled at the original code's positions on that curve (`tim_positions`). Unlike the original code
    (which took the eigenvectors from an unsorted decomposition and so dropped the wrong one), the curve
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
