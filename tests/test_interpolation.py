import numpy as np
import pytest

import torch
import torch.nn.functional as F

from mer_live.interpolation import interpolate, linear, tim, tim_basis, tim_positions


@pytest.mark.parametrize("method", ["linear", "tim"])
@pytest.mark.parametrize("n,length", [(5, 16), (30, 16), (9, 9), (2, 7), (1, 4)])
def test_gives_asked_length_uint8(method, n, length):
    clip = np.random.default_rng(n).integers(0, 256, (n, 6, 5, 3), dtype=np.uint8)
    out = interpolate(clip, length, method)
    assert out.shape == (length, 6, 5, 3) and out.dtype == np.uint8


@pytest.mark.parametrize("method", ["linear", "tim"])
def test_constant_clip_stays_constant(method):
    clip = np.full((11, 4, 4), 93, np.uint8)
    for length in (3, 11, 17):
        assert np.all(interpolate(clip, length, method) == 93)


@pytest.mark.parametrize("method", ["linear", "tim"])
def test_clip_at_length_passes_unchanged(method):
    clip = np.random.default_rng(1).integers(0, 256, (8, 5, 5), dtype=np.uint8)
    assert np.array_equal(interpolate(clip, 8, method), clip)


def test_tim_curve_passes_through_every_input_frame():
    # The original's positions 1/n + (1 - 1/n) j / L hit input frame 1 + (n - 1) j / L (1-based) when that is
    # a whole number: with L = 2 (n - 1), every other output is an input frame, all of them but the first.
    n = 6
    clip = np.random.default_rng(2).integers(0, 256, (n, 7, 7), dtype=np.uint8)
    out = tim(clip, 2 * (n - 1))
    assert np.abs(out[1::2].astype(int) - clip[1:].astype(int)).max() <= 1


def test_tim_samples_the_original_codes_positions_17_frames_to_8():
    """The original: positions 1/n + (1 - 1/n) j / L, j = 1..L, on the curve where frame k (1-based) sits at
    k/n. For 17 frames to 8 that is k = 1 + 2j: frames 3, 5, ..., 17 (1-based), i.e. indices 2, 4, ..., 16."""
    n, length = 17, 8
    expected = 1.0 / n + (1.0 - 1.0 / n) * np.arange(1, length + 1) / length
    assert np.allclose(tim_positions(n, length), expected)
    clip = np.random.default_rng(17).integers(0, 256, (n, 9, 8, 3), dtype=np.uint8)
    out = tim(clip, length)
    assert np.abs(out.astype(int) - clip[2::2].astype(int)).max() <= 1


def test_tim_basis_is_the_path_graph_laplacian_eigenvectors():
    n = 7
    lap = np.diag([1] + [2] * (n - 2) + [1]) - np.eye(n, k=1) - np.eye(n, k=-1)
    y = tim_basis(n, np.arange(1, n + 1) / n)
    for k, vec in enumerate(y, start=1):
        lam = 2 - 2 * np.cos(np.pi * k / n)
        assert np.allclose(lap @ vec, lam * vec, atol=1e-9)


def original_linear(clip: np.ndarray, length: int) -> np.ndarray:
    """The original code's FixSequenceInterpolation on a (T, H, W[, C]) clip: torch's trilinear, then .byte()."""
    x = torch.from_numpy(clip if clip.ndim == 4 else clip[..., None]).float()
    t, h, w, _ = x.shape
    x = x.permute(3, 0, 1, 2)[None]                       # (1, C, T, H, W)
    if t != length:
        x = F.interpolate(x, size=(length, h, w), mode="trilinear", align_corners=False)
    out = x[0].permute(1, 2, 3, 0).byte().numpy()
    return out if clip.ndim == 4 else out[..., 0]


@pytest.mark.parametrize("n,length,shape", [(130, 17, (12, 10, 3)), (15, 9, (8, 8, 3)), (5, 17, (6, 7)),
                                            (40, 16, (9, 5)), (2, 7, (4, 4, 3)), (1, 5, (3, 3)), (17, 17, (3, 3))])
def test_linear_is_the_original_codes_trilinear_resampling(n, length, shape):
    clip = np.random.default_rng(n * 100 + length).integers(0, 256, (n, *shape), dtype=np.uint8)
    ours, original = linear(clip, length), original_linear(clip, length)
    assert ours.shape == original.shape and ours.dtype == np.uint8
    assert np.abs(ours.astype(int) - original.astype(int)).max() <= 1
    assert np.mean(ours == original) > 0.999                   # truncation as .byte(), not rounding


def test_linear_samples_between_neighbours_at_the_original_positions():
    # 2 frames to 5: positions (j + 0.5) * 2 / 5 - 0.5 = -0.3 (clamped to 0), 0.1, 0.5, 0.9, 1.3 (-> frame 1)
    clip = np.stack([np.full((2, 2), 0, np.uint8), np.full((2, 2), 100, np.uint8)])
    assert [int(f[0, 0]) for f in interpolate(clip, 5, "linear")] == [0, 10, 50, 90, 100]


def test_bad_input_errors():
    with pytest.raises(ValueError, match="unknown interpolation"):
        interpolate(np.zeros((3, 2, 2), np.uint8), 4, "cubic")
    with pytest.raises(TypeError, match="uint8"):
        interpolate(np.zeros((3, 2, 2), np.float32), 4)
