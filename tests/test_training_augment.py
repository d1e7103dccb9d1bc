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


@pytest.mark.parametrize("params", [
    AugmentParams(flip=True),
    AugmentParams(angle_deg=9.0, scale=1.08),
    AugmentParams(angle_deg=-7.0, scale=0.92, flip=True),
])
def test_augmented_flow_matches_flow_of_augmented_frames(params):
    frames = moving_texture()
    cached = augment_flow(clip_flow(frames), params)
    recomputed = clip_flow(augment_frames(frames, params))
    inner = (slice(None), slice(24, -24), slice(24, -24))
    for channel, name in enumerate(("magnitude", "dx", "dy")):
        a, b = cached[inner + (channel,)].ravel(), recomputed[inner + (channel,)].ravel()
        rel = np.abs(a - b).mean() / np.abs(b).mean()
        assert rel < 0.15, f"{name}: mean relative error {rel:.3f}"
        corr = np.corrcoef(a, b)[0, 1]
        assert corr > 0.9, f"{name}: correlation {corr:.3f}"


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
