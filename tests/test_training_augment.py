"""Augmenting cached flow must match recomputing flow on the augmented frames (the cache's premise)."""
import cv2
import numpy as np
import pytest

from mer_live.flow import clip_flow
from mer_live.features import compose_features
from training.augment import AugmentParams, augment_features, augment_flow, augment_frames, draw_params


def moving_texture(size=96, steps=3, shift=(0.8, 0.4), turn_deg=1.0, seed=0):
    """A smooth random texture turned and moved a little each frame: smooth flow that varies over the image."""
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur((rng.random((size, size)) * 255).astype(np.float32), (0, 0), 3)
    base = cv2.normalize(base, None, 20, 235, cv2.NORM_MINMAX)
    frames = []
    for t in range(steps):
        matrix = cv2.getRotationMatrix2D((size / 2, size / 2), turn_deg * t, 1.0)
        matrix[:, 2] += (shift[0] * t, shift[1] * t)
        frame = cv2.warpAffine(base, matrix, (size, size), borderMode=cv2.BORDER_REFLECT_101)
        frames.append(np.repeat(frame[..., None], 3, axis=-1))
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


def vector_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean |a - b| of the (dx, dy) planes over the mean length of b's vectors, and their correlation."""
    a, b = a[..., 1:3], b[..., 1:3]
    return float(np.abs(a - b).mean() / np.linalg.norm(b, axis=-1).mean()), float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.mark.parametrize("params, whole_limit", [
    (AugmentParams(flip=True), 1e-6),
    (AugmentParams(angle_deg=9.0, scale=1.08), 0.03),
    (AugmentParams(angle_deg=-7.0, scale=0.92, flip=True), 0.10),
])
def test_warped_flow_against_flow_recomputed_on_the_augmented_frames_over_the_whole_image(params, whole_limit):
    """--augment-order warp-flow's premise, on a texture moving everywhere: the interior agrees to 1 %, the whole
    image to `whole_limit` (Farneback sees other borders: a shrunk image reflects its edges into view).
    Synthetic faces, whose motion is local, differ more: benchmarks/bench_data_cache.py measures it (README)."""
    frames = moving_texture()
    warped = augment_flow(clip_flow(frames), params)
    recomputed = clip_flow(augment_frames(frames, params))
    whole, whole_corr = vector_difference(warped, recomputed)
    inner = (slice(None), slice(24, -24), slice(24, -24))
    interior, interior_corr = vector_difference(warped[inner], recomputed[inner])
    assert whole <= whole_limit and whole_corr > 0.95, (whole, whole_corr)
    assert interior < 0.01 and interior_corr > 0.999, (interior, interior_corr)
    np.testing.assert_allclose(warped[..., 0], np.hypot(warped[..., 1], warped[..., 2]), rtol=1e-5, atol=1e-5)


def test_original_augment_order_recomputes_flow_on_the_augmented_cached_frames(synth_root, tmp_path):
    """--augment-order original: the cached frames augmented, then their flow, over the whole image; a draw
    without any transform gives the cached features."""
    from mer_live.datasets import load_dataset
    from training.cache import ClipCache
    from training.data import ClipDataset

    clips = load_dataset(synth_root, "SMIC").clips[:3]
    cache = ClipCache(4, (32, 32), "linear", "GRAY_OF", tmp_path / "cache")

    def dataset(order):
        return ClipDataset([c.frames for c in clips], [c.label for c in clips], cache, "GRAY_OF", 4, True, order)

    original, warp = dataset("original"), dataset("warp-flow")
    seeds = {}
    for seed in range(200):
        params = draw_params(np.random.default_rng(seed))
        kind = "identity" if params.is_identity else "rotated" if params.angle_deg else None
        seeds.setdefault(kind, (seed, params))
    seed, params = seeds["rotated"]
    for i, clip in enumerate(clips):
        frames = augment_frames(cache.get(clip.frames).frames, params)
        expected = compose_features(frames, clip_flow(frames), "GRAY_OF", 4)
        np.testing.assert_array_equal(original.features(i, seed), expected)
        assert not np.array_equal(warp.features(i, seed)[:, :3], expected[:, :3])
        identity_seed = seeds["identity"][0]
        np.testing.assert_array_equal(original.features(i, identity_seed), cache.features(clip.frames))


def test_mirror_negates_dx_and_mirrors_the_field():
    flow = np.random.default_rng(1).normal(size=(2, 8, 10, 3)).astype(np.float32)
    out = augment_flow(flow, AugmentParams(flip=True))
    np.testing.assert_allclose(out[..., 1], -flow[:, :, ::-1, 1], atol=1e-6)
    np.testing.assert_allclose(out[..., 2], flow[:, :, ::-1, 2], atol=1e-6)
    np.testing.assert_allclose(out[..., 0], np.hypot(out[..., 1], out[..., 2]), atol=1e-5)


def test_one_draw_applies_to_every_frame_alike():
    frames = np.repeat(moving_texture(size=48, steps=1), 5, axis=0)
    params = AugmentParams(angle_deg=6.0, scale=1.05, flip=True)
    out = augment_frames(frames, params)
    assert out.shape == frames.shape and out.dtype == np.uint8
    assert all(np.array_equal(out[0], f) for f in out[1:])
    assert not np.array_equal(out[0], frames[0])


def test_border_is_the_original_codes_reflect_edge_pixel_repeated():
    """The original's ShiftScaleRotate used cv2.BORDER_REFLECT (fedcba|abcdef), not REFLECT_101 (fedcb|abcdef).
    Scaled by 10/11 about the centre of 21 columns, output column 0 samples source column -1: REFLECT gives
    column 0 there, REFLECT_101 column 1."""
    frame = np.zeros((1, 21, 21, 3), np.uint8)
    frame[:, :, 0] = 255
    params = AugmentParams(scale=10 / 11)
    assert augment_frames(frame, params)[0, 10, 0, 0] == 255
    flow = np.zeros((1, 21, 21, 3), np.float32)
    flow[:, :, 0, 1] = 1.0
    assert augment_flow(flow, params)[0, 10, 0, 1] == pytest.approx(10 / 11)


def test_draws_follow_the_seed_limits_and_probabilities():
    rng = np.random.default_rng(0)
    draws = [draw_params(rng) for _ in range(4000)]
    flips = np.mean([d.flip for d in draws])
    ssr = [d for d in draws if d.angle_deg != 0.0 or d.scale != 1.0]
    assert 0.45 < flips < 0.55 and 0.45 < len(ssr) / len(draws) < 0.55
    assert all(abs(d.angle_deg) <= 10 and 0.9 <= d.scale <= 1.1 for d in ssr)


@pytest.mark.parametrize("params", [AugmentParams(flip=True), AugmentParams(angle_deg=-8.0, scale=1.06, flip=True)])
def test_augmenting_composed_features_matches_composing_augmented_frames_and_flow(params):
    """Training augments the cached model input in one pass; it must equal the frame/flow route."""
    frames = moving_texture(size=64, steps=5)
    flow = clip_flow(frames)
    by_parts = compose_features(augment_frames(frames, params), augment_flow(flow, params), "GRAY_OF", 4)
    one_pass = augment_features(compose_features(frames, flow, "GRAY_OF", 4), params, flow_channels=True)
    assert one_pass.shape == by_parts.shape == (4, 4, 64, 64)
    np.testing.assert_allclose(one_pass[:, 3], by_parts[:, 3], atol=1.5 / 255)   # gray: uint8 rounding
    np.testing.assert_allclose(one_pass[:, :3], by_parts[:, :3], atol=0.02)      # flow, in pixels
