import threading

import cv2
import numpy as np
import pytest

from mer_live.flow import FARNEBACK_PARAMS, clip_flow, farneback


def _texture(h=96, w=96, seed=0):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 256, (h, w)).astype(np.uint8), (0, 0), 2.0)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)


def test_uniform_two_pixel_shift_gives_dx_two_in_interior():
    img = _texture()
    shifted = np.roll(img, 2, axis=1)  # content moves 2 px to the right
    flow = farneback(img, shifted)
    interior = flow[20:-20, 20:-20]
    assert flow.dtype == np.float32 and flow.shape == (96, 96, 3)
    assert abs(np.median(interior[..., 1]) - 2.0) < 0.2
    assert abs(np.median(interior[..., 2])) < 0.2
    assert np.allclose(interior[..., 0], np.hypot(interior[..., 1], interior[..., 2]), atol=1e-4)


def test_vertical_shift_gives_dy():
    img = _texture(seed=1)
    flow = farneback(img, np.roll(img, -2, axis=0))
    assert abs(np.median(flow[20:-20, 20:-20, 2]) + 2.0) < 0.2


def test_clip_flow_gives_one_flow_per_pair_of_rgb_frames():
    img = _texture()
    frames = np.stack([np.roll(img, i, axis=1) for i in range(5)])
    rgb = np.repeat(frames[..., None], 3, axis=-1)
    flow = clip_flow(rgb)
    assert flow.shape == (4, 96, 96, 3)
    assert np.all(np.abs(np.median(flow[:, 20:-20, 20:-20, 1], axis=(1, 2)) - 1.0) < 0.2)


def test_seed_parameters():
    assert FARNEBACK_PARAMS == dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5,
                                    poly_sigma=1.2, flags=0)


@pytest.fixture
def flow_threads_seen(monkeypatch):
    """The names of the threads that computed each flow pair, in order."""
    from mer_live import flow as flow_module

    seen = []

    def recorded(prev_gray, next_gray):
        seen.append(threading.current_thread().name)
        return farneback(prev_gray, next_gray)

    monkeypatch.setattr(flow_module, "farneback", recorded)
    return seen


def test_threaded_clip_flow_is_the_serial_flow(flow_threads_seen):
    """The live engine shares a window's flow among threads: the same numbers as one thread, pair for pair,
    computed on the flow threads (frames of THREADED_FLOW_MIN_PIXELS and more) and in this thread otherwise."""
    workers = flow_threads_seen
    rng = np.random.default_rng(3)
    base = cv2.GaussianBlur(rng.integers(0, 255, (128, 128), dtype=np.uint8), (7, 7), 2)
    frames = np.stack([np.roll(base, (i, -i), axis=(0, 1)) for i in range(6)])
    serial = clip_flow(frames)
    assert workers == [threading.current_thread().name] * 5
    workers.clear()
    threaded = clip_flow(frames, threads=3)
    assert len(workers) == 5 and all(name.startswith("mer-flow") for name in workers)
    assert threaded.shape == serial.shape == (5, 128, 128, 3)
    assert np.array_equal(threaded, serial)
    workers.clear()
    clip_flow(frames[:, :64, :64], threads=3)        # small frames: threads would cost more than they save
    assert workers == [threading.current_thread().name] * 5


def test_live_window_flow_runs_on_the_flow_threads(flow_threads_seen, monkeypatch):
    """prepare_window (the live engine's features) asks for the live flow threads; training's path keeps one."""
    from mer_live import flow as flow_module
    from mer_live.features import prepare_clip
    from mer_live.spec import ModelSpec
    from mer_live.streaming.window import Window, prepare_window

    workers = flow_threads_seen
    monkeypatch.setattr(flow_module, "live_flow_threads", lambda: 2)
    spec = ModelSpec(model="ch3_1_fusion_cnn_like", class_names=("ne", "po", "sur"), num_frames=4,
                     image_size=(128, 128), variant="nano")
    frames = np.random.default_rng(0).integers(0, 255, (6, 140, 140, 3), dtype=np.uint8)
    prepare_window(Window(index=0, t_start=0.0, t_end=0.2, frames=frames, captured_at=0.0, box_changes=0), spec)
    assert workers and all(name.startswith("mer-flow") for name in workers)
    workers.clear()
    prepare_clip(frames, spec.num_frames, (128, 128), spec.interpolation, spec.feature)
    assert workers == [threading.current_thread().name] * len(workers) and workers
