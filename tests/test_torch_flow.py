"""The PyTorch Farneback gives OpenCV's flow within the tolerance stated in mer_live/torch_flow.py."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mer_live.flow import FARNEBACK_PARAMS, FlowBackend, clip_flow
from mer_live.torch_flow import EPE_MEAN_TOLERANCE, EPE_P95_TOLERANCE, OPTFLOW_FARNEBACK_GAUSSIAN, farneback_flow

REAL_VIDEO = Path(__file__).parent / "data" / "real" / "WolfgangLanger_Pexels.mp4"
PROBABILITY_TOLERANCE = 1e-3  # a trained model's class probabilities with torch flow against OpenCV flow
TORCH_CPU = FlowBackend("torch", "cpu")


def torch_clip_flow(frames):
    return clip_flow(frames, backend=TORCH_CPU)


def _texture(h, w, seed, blur=2.0):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 256, (h, w)).astype(np.uint8), (0, 0), blur)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)


def _opencv(prev, nxt, params=FARNEBACK_PARAMS):
    return np.stack([cv2.calcOpticalFlowFarneback(a, b, None, **params) for a, b in zip(prev, nxt)])


def _torch(prev, nxt, params=FARNEBACK_PARAMS):
    return farneback_flow(torch.from_numpy(np.stack(prev)), torch.from_numpy(np.stack(nxt)), **params).numpy()


def assert_within_tolerance(ours, reference, what):
    """Per pair: mean end-point error and its 95th percentile within the module's stated tolerance."""
    assert ours.shape == reference.shape and ours.dtype == np.float32
    for i, (a, b) in enumerate(zip(ours, reference)):
        epe = np.hypot(a[..., 0] - b[..., 0], a[..., 1] - b[..., 1])
        mean, p95 = float(epe.mean()), float(np.percentile(epe, 95))
        assert mean <= EPE_MEAN_TOLERANCE and p95 <= EPE_P95_TOLERANCE, \
            f"{what}, pair {i}: end-point error mean {mean:.2e} px, p95 {p95:.2e} px"


@pytest.mark.parametrize("size, move", [
    ((96, 96), np.float32([[1, 0, 2], [0, 1, 0]])),                    # a whole-pixel shift
    ((128, 160), np.float32([[1, 0, 6.4], [0, 1, -3.3]])),             # sub-pixel, beyond level 0's reach
    ((120, 150), cv2.getRotationMatrix2D((75, 60), 3.0, 1.03)),        # rotation and zoom: flow varies
])
def test_shifted_textures_match_opencv(size, move):
    h, w = size
    prev = [_texture(h, w, seed) for seed in range(2)]
    nxt = [cv2.warpAffine(p, move, (w, h), borderMode=cv2.BORDER_REFLECT) for p in prev]
    assert_within_tolerance(_torch(prev, nxt), _opencv(prev, nxt), f"texture {size}")


def test_gaussian_window_matches_opencv():
    prev = [_texture(100, 120, 5)]
    nxt = [cv2.warpAffine(prev[0], cv2.getRotationMatrix2D((60, 50), -2.0, 0.98), (120, 100))]
    params = dict(FARNEBACK_PARAMS, flags=OPTFLOW_FARNEBACK_GAUSSIAN)
    assert_within_tolerance(_torch(prev, nxt, params), _opencv(prev, nxt, params), "Gaussian window")


def test_other_parameters_match_opencv():
    """Not only the project's parameters: an even window, a finer pyramid, a wider expansion."""
    prev = [_texture(90, 110, 6)]
    nxt = [cv2.warpAffine(prev[0], np.float32([[1, 0.02, 1.5], [-0.02, 1, 0.7]]), (110, 90))]
    params = dict(pyr_scale=0.7, levels=4, winsize=10, iterations=4, poly_n=7, poly_sigma=1.5, flags=0)
    assert_within_tolerance(_torch(prev, nxt, params), _opencv(prev, nxt, params), "other parameters")


@pytest.mark.parametrize("size", [(8, 8), (6, 30), (9, 12), (3, 40), (1, 1)])
def test_tiny_frames_match_opencv(size):
    """Under 10 px a side OpenCV damps the edges differently (see _edge_weights); under 32 px no pyramid."""
    rng = np.random.default_rng(sum(size))
    prev = [rng.integers(0, 256, size).astype(np.uint8)]
    nxt = [np.roll(prev[0], 1, axis=1)]
    assert_within_tolerance(_torch(prev, nxt), _opencv(prev, nxt), f"tiny {size}")


def _synthetic_clip(size, seed, frames=6, motion="smile"):
    """A clip of the project's synthetic face (mer_live.synthetic) with one class's micro-motion."""
    from mer_live.synthetic.render import MOTIONS, motion_field, random_look, render_frames, render_still

    rng = np.random.default_rng(seed)
    look = random_look(rng, (size, size), raw=False)
    amplitude = np.sin(np.linspace(0, np.pi, frames)) * 2.0
    return render_frames(look, render_still(look), motion_field(look, MOTIONS[motion]), amplitude, rng, noise=1.0)


def test_synthetic_face_clip_matches_opencv_batched():
    """A whole clip's pairs in one batch, as the live engine sends a window: each is OpenCV's flow."""
    frames = _synthetic_clip(112, seed=3)
    ours = torch_clip_flow(frames)
    reference = clip_flow(frames)
    assert ours.shape == reference.shape == (5, 112, 112, 3)
    assert_within_tolerance(ours[..., 1:], reference[..., 1:], "synthetic face")
    assert np.allclose(ours[..., 0], np.hypot(ours[..., 1], ours[..., 2]), atol=1e-5)


def test_nearly_singular_window_matches_opencv():
    """A synthetic face pair at 224 px where one window's 2 x 2 system is nearly singular: sampling the
    second frame's expansion in float32 tipped 250 pixels' flow by up to 1.4 px there (mean 1.4e-3 px)."""
    frames = _synthetic_clip(224, seed=3, frames=9)[6:8]
    assert_within_tolerance(torch_clip_flow(frames)[..., 1:], clip_flow(frames)[..., 1:], "nearly singular")


@pytest.fixture(scope="module")
def real_gray_frames():
    cap = cv2.VideoCapture(str(REAL_VIDEO))
    wanted, frames = {100, 101, 102, 190, 192}, {}
    for index in range(max(wanted) + 1):
        ok, frame = cap.read()
        assert ok, f"cannot read frame {index} of {REAL_VIDEO}"
        if index in wanted:
            frames[index] = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    cap.release()
    return frames


def test_real_video_frames_match_opencv(real_gray_frames):
    """Full 640x360 frames of the real test video: consecutive pairs and one two frames apart (a blink)."""
    pairs = [(100, 101), (101, 102), (190, 192)]
    prev = [real_gray_frames[a] for a, _ in pairs]
    nxt = [real_gray_frames[b] for _, b in pairs]
    reference = _opencv(prev, nxt)
    assert np.abs(reference).max() > 1.0, "the pairs should hold some motion"
    assert_within_tolerance(_torch(prev, nxt), reference, "real video")


def test_batch_pairs_do_not_mix_and_single_pair_shapes():
    a, b = _texture(64, 80, 1), _texture(64, 80, 2)
    shifted = [np.roll(a, 1, axis=1), np.roll(b, -2, axis=0)]
    batch = farneback_flow(torch.from_numpy(np.stack([a, b])), torch.from_numpy(np.stack(shifted)))
    single = farneback_flow(torch.from_numpy(b), torch.from_numpy(shifted[1]))
    assert batch.shape == (2, 64, 80, 2) and single.shape == (64, 80, 2)
    assert torch.allclose(batch[1], single, atol=1e-6)
    float_input = farneback_flow(torch.from_numpy(b).float(), torch.from_numpy(shifted[1]).float())
    assert torch.equal(float_input, single)


def test_bad_input_is_one_clear_error():
    frame = torch.zeros(40, 40, dtype=torch.uint8)
    with pytest.raises(ValueError, match="one shape"):
        farneback_flow(frame, torch.zeros(40, 41, dtype=torch.uint8))
    with pytest.raises(ValueError, match="flags"):
        farneback_flow(frame, frame, flags=4)
    with pytest.raises(ValueError, match="pyr_scale"):
        farneback_flow(frame, frame, pyr_scale=1.0)
    with pytest.raises(ValueError, match="at least 2 frames"):
        clip_flow(np.zeros((1, 40, 40), np.uint8), backend=TORCH_CPU)


def test_demo_model_gives_the_same_probabilities_with_either_flow():
    """The flow's effect on a trained model: the bundled demo model (trained on OpenCV flow) classifies
    synthetic clips of each class with torch flow as it does with OpenCV's."""
    from mer_live.features import compose_features
    from mer_live.interpolation import interpolate
    from mer_live.runtime import OnnxClassifier

    model = OnnxClassifier(Path(__import__("mer_live").__file__).parent / "assets" / "demo_model.onnx",
                           provider="cpu", warmup=False)
    spec = model.spec
    clips = [interpolate(_synthetic_clip(spec.image_size[0], seed, frames=12, motion=motion), spec.num_frames + 1,
                         spec.interpolation)
             for seed, motion in enumerate(("brows_together", "smile", "brows_up"))]
    opencv = np.stack([compose_features(c, clip_flow(c), spec.feature, spec.num_frames) for c in clips])
    ours = np.stack([compose_features(c, torch_clip_flow(c), spec.feature, spec.num_frames) for c in clips])
    p_opencv, p_ours = model.predict(opencv), model.predict(ours)
    assert np.abs(p_ours - p_opencv).max() <= PROBABILITY_TOLERANCE, (p_ours, p_opencv)

