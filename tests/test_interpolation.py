import numpy as np
import pytest

from mer_live.interpolation import interpolate, tim, tim_basis


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
    # With length - 1 a multiple of n - 1 the evenly spaced positions hit every input frame.
    n = 6
    clip = np.random.default_rng(2).integers(0, 256, (n, 7, 7), dtype=np.uint8)
    out = tim(clip, 2 * (n - 1) + 1)
    assert np.abs(out[::2].astype(int) - clip.astype(int)).max() <= 1


def test_tim_basis_is_the_path_graph_laplacian_eigenvectors():
    n = 7
    lap = np.diag([1] + [2] * (n - 2) + [1]) - np.eye(n, k=1) - np.eye(n, k=-1)
    y = tim_basis(n, np.arange(1, n + 1) / n)
    for k, vec in enumerate(y, start=1):
        lam = 2 - 2 * np.cos(np.pi * k / n)
        assert np.allclose(lap @ vec, lam * vec, atol=1e-9)


def test_linear_is_linear_between_neighbours():
    clip = np.stack([np.full((2, 2), 0, np.uint8), np.full((2, 2), 100, np.uint8)])
    out = interpolate(clip, 5, "linear")
    assert [int(f[0, 0]) for f in out] == [0, 25, 50, 75, 100]


def test_bad_input_errors():
    with pytest.raises(ValueError, match="unknown interpolation"):
        interpolate(np.zeros((3, 2, 2), np.uint8), 4, "cubic")
    with pytest.raises(TypeError, match="uint8"):
        interpolate(np.zeros((3, 2, 2), np.float32), 4)
