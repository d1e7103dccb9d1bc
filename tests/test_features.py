import cv2
import numpy as np
import pytest

from mer_live.features import FEATURE_CHANNELS, clip_features, compose_features, frames_needed, prepare_clip


@pytest.fixture
def clip():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (12, 40, 36, 3), dtype=np.uint8)


@pytest.mark.parametrize("mode,channels", [("RGB", 3), ("GRAY", 1), ("GRAY_OF", 4), ("ONLY_OF", 3), ("RGB_OF", 6)])
def test_each_mode_gives_documented_channels(clip, mode, channels):
    x = clip_features(clip, 6, (24, 20), "linear", mode)
    assert x.shape == (6, channels, 24, 20) and x.dtype == np.float32
    assert FEATURE_CHANNELS[mode] == channels


def test_flow_modes_take_num_frames_plus_one(clip):
    p = prepare_clip(clip, 6, 16, "tim", "GRAY_OF")
    assert len(p.frames) == frames_needed("GRAY_OF", 6) == 7
    assert p.flow.shape == (6, 16, 16, 3)
    assert prepare_clip(clip, 6, 16, "tim", "RGB").flow is None


def test_channel_order_flow_first_then_appearance(clip):
    p = prepare_clip(clip, 4, 16, "linear", "RGB_OF")
    x = compose_features(p.frames, p.flow, "RGB_OF", 4)
    assert np.allclose(x[:, :3], p.flow.transpose(0, 3, 1, 2))
    assert np.allclose(x[:, 3:], p.frames[:-1].transpose(0, 3, 1, 2) / 255.0)
    g = compose_features(p.frames, p.flow, "GRAY_OF", 4)
    assert np.allclose(g[:, :3], p.flow.transpose(0, 3, 1, 2))
    gray = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in p.frames[:-1]])  # OpenCV's weights
    assert np.array_equal(g[:, 3], gray.astype(np.float32) / 255.0)


def test_gray_input_is_accepted_and_bad_channels_rejected(clip):
    gray = clip[..., 0]
    assert clip_features(gray, 4, 16, "linear", "GRAY").shape == (4, 1, 16, 16)
    with pytest.raises(ValueError, match="channels"):
        clip_features(np.zeros((5, 8, 8, 2), np.uint8), 4, 8)
    with pytest.raises(ValueError, match="alpha"):
        clip_features(np.zeros((5, 8, 8, 4), np.uint8), 4, 8)
    with pytest.raises(TypeError, match="uint8"):
        clip_features(np.zeros((5, 8, 8, 3), np.float32), 4, 8)
    with pytest.raises(ValueError, match="unknown feature mode"):
        clip_features(clip, 4, 8, mode="DEPTH")
