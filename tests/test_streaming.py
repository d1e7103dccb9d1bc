"""The streaming engine's own behaviour, with small fakes for the classifier, detector and source."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from mer_live.spec import ModelSpec
from mer_live.streaming.detection import DetectionConfig
from mer_live.streaming.engine import Engine, EngineConfig
from mer_live.streaming.handoff import Inbox
from mer_live.streaming.face_tracker import FaceTracker, TrackerConfig
from mer_live.streaming.source_argument import open_source
from mer_live.streaming.sources import ArraySource, FolderSource, SourceError
from mer_live.streaming.legacy_spotting import LegacySpotterConfig

from engine_recorder import Recorder

FPS = 50.0


class FakeClassifier:
    """Class 'right' when the window's motion starts rightward (its first flow step with a mean horizontal flow
    of 0.01 px or more is positive), 'left' when it starts leftward, else 'still'. The onset's direction, not
    the net flow: a window holding a whole slide-and-return has next to no net flow, and its sign then
    depends on exactly which frames the interpolation samples."""

    provider = "FakeProvider"

    def __init__(self, delay_s: float = 0.0):
        self.spec = ModelSpec(model="fake", class_names=("still", "right", "left"), num_frames=4,
                              image_size=(32, 32), feature="GRAY_OF", fps=FPS, clip_seconds=0.4)
        self.delay_s = delay_s
        self.calls = 0

    def predict(self, x: np.ndarray) -> np.ndarray:
        assert x.shape[1:] == (4, 4, 32, 32) and x.dtype == np.float32
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        probs = np.full((len(x), 3), 0.1, np.float32)
        for i, clip in enumerate(x):
            steps = clip[:, 1].reshape(clip.shape[0], -1).mean(axis=1)   # mean dx of each flow step
            moving = steps[np.abs(steps) >= 0.01]
            probs[i, 0 if len(moving) == 0 else (1 if moving[0] > 0 else 2)] = 0.8
        return probs


def texture(size=96, seed=0):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 255, (size, size)).astype(np.uint8), (0, 0), 2.0)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)


def moving_stream(seconds=4.0, motions=((1.5, 1.8, +1), (2.8, 3.1, -1)), seed=0):
    """A still textured frame whose centre patch slides right (+1) or left (-1) 3 px and back within each motion."""
    base = texture(seed=seed)
    n = int(seconds * FPS)
    frames = []
    for i in range(n):
        t = i / FPS
        shift = 0.0
        for start, end, direction in motions:
            if start <= t <= end:
                shift = direction * 3.0 * np.sin(np.pi * (t - start) / (end - start))
        img = base.copy()
        patch = base[24:72, 24:72].astype(np.float32)
        moved = cv2.warpAffine(patch, np.float32([[1, 0, shift], [0, 1, 0]]), (48, 48), borderMode=cv2.BORDER_REFLECT)
        img[24:72, 24:72] = np.clip(moved, 0, 255).astype(np.uint8)
        frames.append(np.repeat(img[..., None], 3, axis=-1))
    return np.stack(frames)


def full_frame_config(**kw):
    return EngineConfig(stride_s=0.1, face="full", spotter=LegacySpotterConfig(threshold=2.5, min_baseline=5), **kw)


def test_events_at_motion_times_and_of_the_right_class():
    motions = ((1.5, 1.8, +1), (2.8, 3.1, -1))
    recorder = Recorder()
    engine = Engine(ArraySource(moving_stream(motions=motions), fps=FPS), FakeClassifier(), full_frame_config(),
                    recorder)
    events = engine.run()
    assert recorder.finished.is_set()
    assert len(recorder.results) == engine.stats().windows > 20
    # every window is classified, only the moving ones are candidates
    assert any(not r.is_candidate for r in recorder.results)
    assert [e.label for e in events] == ["right", "left"]
    for event, (start, end, _) in zip(events, motions):
        assert abs(event.start - start) <= 0.1 + 1 / FPS, (event, start)
        assert abs(event.end - end) <= 0.1 + 1 / FPS, (event, end)
    assert recorder.events == events


def test_windows_follow_the_stride_and_span_the_clip():
    recorder = Recorder()
    Engine(ArraySource(moving_stream(seconds=2.0, motions=()), fps=FPS), FakeClassifier(), full_frame_config(),
           recorder).run()
    starts = np.array([r.t_end for r in recorder.results])
    assert np.allclose(np.diff(starts), 0.1, atol=1 / FPS + 1e-9)
    spans = np.array([r.t_end - r.t_start for r in recorder.results])
    assert np.all(spans >= 0.4 - 2 / FPS) and np.all(spans <= 0.4)
    assert not any(r.is_candidate for r in recorder.results)


def test_stale_windows_are_dropped_when_inference_is_slow():
    classifier = FakeClassifier(delay_s=0.15)            # slower than the 0.1 s stride
    recorder = Recorder()
    source = ArraySource(moving_stream(seconds=3.0), fps=FPS, realtime=True)
    engine = Engine(source, classifier, full_frame_config(), recorder)
    engine.start()
    assert engine.join(timeout=20)
    assert recorder.finished.is_set()
    stats = engine.stats()
    made = stats.extra["windows_made"]
    assert stats.dropped_windows > 0
    assert stats.windows + stats.dropped_windows == made          # each window either classified or dropped
    assert classifier.calls == stats.windows < made
    indices = [r.window_index for r in recorder.results]
    assert indices == sorted(indices) and max(np.diff(indices)) > 1  # newest window wins, old ones skipped
    # capture was not held up by the slow model: all frames delivered at the source's pace
    assert len(recorder.frames) == len(source.frames)
    assert stats.capture_fps == pytest.approx(FPS, rel=0.2)


def test_inbox_keeps_only_the_newest_window_and_every_queued_item_first():
    box = Inbox()
    assert box.put_newest(1) is False
    assert box.put_newest(2) is True
    box.put("event a")
    box.put("event b")
    assert [box.get(timeout=0.1) for _ in range(3)] == ["event a", "event b", 2]
    assert box.get(timeout=0.01) is None
    box.close()
    assert box.get() is None


class FlakyCamera(ArraySource):
    """A 'live' source that stops delivering at frame `fail_at`; re-opening works `recoveries` times."""

    live = True

    def __init__(self, frames, fail_at, recoveries):
        super().__init__(frames, fps=FPS, name="camera 7")
        self.fail_frame = fail_at
        self.broken = False
        self.recoveries = recoveries
        self.reopens = 0

    def _read_rgb(self):
        if self._index == self.fail_frame:
            self.fail_frame = None
            self.broken = True
        if self.broken:
            raise SourceError("camera 7 stopped delivering frames (unplugged?)")
        return super()._read_rgb()

    def reopen(self):
        self.reopens += 1
        if self.reopens > self.recoveries:
            raise SourceError("cannot open camera 7: no camera at index 7")
        self.broken = False


def test_camera_failing_mid_stream_is_reported_and_survived():
    frames = moving_stream(seconds=2.0, motions=())
    recorder = Recorder()
    source = FlakyCamera(frames, fail_at=30, recoveries=1)
    engine = Engine(source, FakeClassifier(), full_frame_config(retry_delay_s=0.0), recorder)
    engine.run()
    assert recorder.finished.is_set()
    assert any(m.level == "warning" and "unplugged" in m.text for m in recorder.status)
    assert len(recorder.frames) == len(frames)                 # it went on after the re-open
    assert recorder.results


def test_camera_gone_for_good_ends_cleanly_with_an_error():
    frames = moving_stream(seconds=2.0, motions=())
    recorder = Recorder()
    source = FlakyCamera(frames, fail_at=30, recoveries=0)
    engine = Engine(source, FakeClassifier(), full_frame_config(retry_delay_s=0.0, camera_retries=2), recorder)
    engine.start()
    assert engine.join(timeout=10)
    assert recorder.finished.is_set()
    errors = [m for m in recorder.status if m.level == "error"]
    assert errors and "reconnect" in errors[-1].text
    assert len(recorder.frames) == 30 and source.reopens == 2


def test_unopenable_sources_name_the_source_and_the_fix(tmp_path):
    with pytest.raises(SourceError, match="neither a camera index"):
        open_source(str(tmp_path / "missing.mp4"))
    empty = FolderSource(tmp_path)
    with pytest.raises(SourceError, match="holds no images"):
        empty.open()
    recorder = Recorder()
    Engine(FolderSource(tmp_path), FakeClassifier(), full_frame_config(), recorder).run()
    assert recorder.finished.is_set()
    assert recorder.status[-1].level == "error" and str(tmp_path) in recorder.status[-1].text


def test_folder_source_orders_by_frame_number_and_skips_corrupt_frames(tmp_path):
    for i in (1, 2, 10):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), np.full((8, 8, 3), i, np.uint8))
    (tmp_path / "img3.png").write_bytes(b"not an image")
    source = FolderSource(tmp_path, fps=10)
    source.open()
    values = []
    while True:
        try:
            frame = source.read()
        except SourceError as exc:
            assert "img3.png" in str(exc)
            continue
        if frame is None:
            break
        values.append((int(frame.rgb[0, 0, 0]), frame.timestamp))
    assert values == [(1, 0.0), (2, 0.1), (10, 0.3)]


class JitterDetector:
    """A still face whose detected box jitters by up to 1.5 px, as MTCNN's does; `moves_at` shifts it,
    calls from `lost_from` (until `found_from`, if given) find no face."""

    def __init__(self, moves_at=None, lost_from=None, found_from=None, seed=0):
        self.rng = np.random.default_rng(seed)
        self.calls = 0
        self.moves_at = moves_at
        self.lost_from = lost_from
        self.found_from = found_from

    def detect(self, frame):
        self.calls += 1
        if self.lost_from is not None and self.calls >= self.lost_from and not (
                self.found_from is not None and self.calls >= self.found_from):
            return None
        box = np.array([100, 60, 180, 160], np.float32) + self.rng.uniform(-1.5, 1.5, 4).astype(np.float32)
        if self.moves_at is not None and self.calls >= self.moves_at:
            box += np.float32([30, 0, 30, 0])

        class Face:
            pass

        face = Face()
        face.box = box
        return face


def test_still_face_box_never_moves_despite_detector_jitter():
    tracker = FaceTracker()
    detector = JitterDetector()
    boxes = {tracker.update(detector.detect(None), (240, 320)).box for _ in range(200)}
    assert len(boxes) == 1 and tracker.reanchors == 1


def test_box_re_anchors_after_a_real_move_confirmed_and_after_loss():
    tracker = FaceTracker(TrackerConfig(confirm_checks=3, lost_after=3))
    detector = JitterDetector(moves_at=11)
    updates = [tracker.update(detector.detect(None), (240, 320)) for _ in range(20)]
    reanchored_at = [i for i, u in enumerate(updates) if u.reanchored]
    assert reanchored_at == [0, 12]                       # the 3rd consecutive moved detection
    assert updates[-1].box[0] > updates[0].box[0] + 20
    for _ in range(2):
        assert tracker.update(None, (240, 320)).box == updates[-1].box    # a miss or two keep the box
    lost = tracker.update(None, (240, 320))
    assert lost.lost and lost.box is None


def test_engine_with_detector_keeps_one_box_and_detects_every_kth_frame():
    frames = np.zeros((100, 240, 320, 3), np.uint8)
    frames[:, :, :240] = texture(size=240)[..., None]
    detector = JitterDetector()
    recorder = Recorder()
    config = EngineConfig(stride_s=0.1, detect_every=5, detection=DetectionConfig(lag_frames=0))
    Engine(ArraySource(frames, fps=FPS), FakeClassifier(), config, recorder, detector=detector).run()
    assert detector.calls == 20
    assert len({f.face_box for f in recorder.frames}) == 1
    assert recorder.results and not any(r.is_candidate for r in recorder.results)


def test_engine_reports_a_lost_face_and_clears_the_window():
    frames = np.repeat(texture(size=240)[None, :, :, None], 100, axis=0).repeat(3, -1)
    frames = np.ascontiguousarray(np.pad(frames, ((0, 0), (0, 0), (0, 80), (0, 0))))
    detector = JitterDetector(lost_from=8)                  # found for 7 detections (35 frames), then gone
    recorder = Recorder()
    Engine(ArraySource(frames, fps=FPS), FakeClassifier(), EngineConfig(detect_every=5, detection=DetectionConfig(lag_frames=0)), recorder,
           detector=detector).run()
    assert any(m.level == "warning" and "face lost" in m.text for m in recorder.status)
    assert recorder.frames[-1].face_box is None
    assert all(r.t_end < 50 / FPS for r in recorder.results)
    assert recorder.finished.is_set()


def test_engine_refills_the_window_when_a_lost_face_comes_back():
    frames = np.repeat(texture(size=240)[None, :, :, None], 150, axis=0).repeat(3, -1)
    frames = np.ascontiguousarray(np.pad(frames, ((0, 0), (0, 0), (0, 80), (0, 0))))
    # detections at frames 0, 5, ..., 35 (call 8), 40, 45: lost at frame 45; then one per frame: found at 50
    detector = JitterDetector(lost_from=8, found_from=15)
    recorder = Recorder()
    Engine(ArraySource(frames, fps=FPS), FakeClassifier(), EngineConfig(detect_every=5, detection=DetectionConfig(lag_frames=0)), recorder,
           detector=detector).run()
    texts = [m.text for m in recorder.status]
    assert any("face lost" in t for t in texts) and any("face found again" in t for t in texts)
    after = [r for r in recorder.results if r.t_end >= 50 / FPS]
    assert after and all(r.t_start >= 50 / FPS for r in after)       # no frame from before the loss


def test_headless_path_does_not_import_qt():
    import subprocess
    import sys

    code = ("import sys, gui.cli, mer_live.streaming.headless, mer_live.streaming.engine, mer_live.streaming.demo; "
            "gui.cli.build_parser().parse_args(['--headless', '--demo']); "
            "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'gui.app'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
