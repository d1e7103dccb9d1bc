"""The live window, offscreen: frames, bars, events, CSV recording, errors, start/stop, real engine."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import csv  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from gui.app import create_window  # noqa: E402
from gui.bridge import EngineBridge  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.recorder import CsvRecorder  # noqa: E402
from gui.session import SourceChoice  # noqa: E402
from mer_live.streaming.events import (EngineStats, FrameInfo, MicroExpressionEvent,  # noqa: E402
                                       StatusMessage, WindowResult)
from test_streaming import FPS, FakeClassifier, full_frame_config, moving_stream  # noqa: E402

CLASSES = ("negative", "positive", "surprise")


class FakeEngine:
    """Drives a listener from its own thread like the real engine: frames, windows, one event, finished."""

    def __init__(self, listener, frames=60, fps=200.0, fail_with: str | None = None, endless=False,
                 spot_states=(), watch=None):
        self.listener = listener
        self.frames, self.fps, self.fail_with, self.endless = frames, fps, fail_with, endless
        self.spot_states, self.watch = tuple(spot_states), dict(watch or {})   # per result; stats().watch
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.results_sent = 0
        self.events_sent = 0
        self.frames_sent = 0

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()

    def join(self, timeout=None):
        self._thread.join(timeout)

    def stats(self):
        return EngineStats(capture_fps=self.fps, inference_rate=20.0, latency_ms=12.0, provider="FakeProvider",
                           frames=self.frames_sent, windows=self.results_sent, watch=self.watch)

    def _run(self):
        try:
            if self.fail_with:
                self.listener.on_status(StatusMessage("error", self.fail_with))
                return
            index = 0
            while not self._stop.is_set() and (self.endless or index < self.frames):
                frame = np.full((48, 64, 3), (index * 4) % 255, dtype=np.uint8)
                self.listener.on_frame(FrameInfo(index, index / self.fps, frame, (16, 8, 48, 40), self.fps))
                self.frames_sent += 1
                if index % 10 == 9:
                    probs = np.array([0.1, 0.2, 0.7], dtype=np.float32) if index >= 30 else \
                        np.array([0.6, 0.3, 0.1], dtype=np.float32)
                    w = self.results_sent
                    self.listener.on_result(WindowResult(w, (index - 9) / self.fps, index / self.fps, probs, CLASSES,
                                                         spot_score=3.0 if index >= 30 else 0.5,
                                                         is_candidate=index >= 30, latency_s=0.01,
                                                         spot_state=self.spot_states[w % len(self.spot_states)]
                                                         if self.spot_states else ""))
                    self.results_sent += 1
                if index == 49:
                    self.listener.on_event(MicroExpressionEvent(0.15, index / self.fps, "surprise", 0.7, 3.0))
                    self.events_sent += 1
                index += 1
                time.sleep(1.0 / self.fps)
        finally:
            self.listener.on_finished()


class FakeFactory:
    def __init__(self, **engine_kwargs):
        self.engine_kwargs = engine_kwargs
        self.engines: list[FakeEngine] = []
        self.calls: list[tuple[SourceChoice, str | None]] = []

    def __call__(self, choice, model_path, listener):
        self.calls.append((choice, model_path))
        engine = FakeEngine(listener, **self.engine_kwargs)
        self.engines.append(engine)
        return engine


@pytest.fixture
def make_window(qtbot):
    def make(factory, **kwargs):
        window = MainWindow(engine_factory=factory, **kwargs)
        qtbot.addWidget(window)
        window.show()
        return window
    return make


def wait_idle(qtbot, window, timeout=5000):
    qtbot.waitUntil(lambda: window.state == "idle", timeout=timeout)


def start_and_wait(qtbot, window, timeout=5000):
    """start() builds the engine on a helper thread; wait until it runs (or failed)."""
    assert window.start()
    qtbot.waitUntil(lambda: window.state != "starting", timeout=timeout)


def test_frames_bars_events_and_stats_reach_the_window(qtbot, make_window):
    window = make_window(FakeFactory())
    assert window.start()
    assert window.state == "starting" and not window.start_button.isEnabled()   # the UI did not wait
    qtbot.waitUntil(lambda: window.state == "running", timeout=5000)
    assert not window.start_button.isEnabled() and window.stop_button.isEnabled()
    qtbot.waitUntil(lambda: window.events.rowCount() == 1, timeout=5000)
    wait_idle(qtbot, window)
    assert window.video.frames_shown > 0 and window.video.last_index == 59     # the last frame is on screen
    assert 0 < window.video.frames_painted <= window.video.frames_shown
    assert window.bars.class_names == CLASSES
    np.testing.assert_allclose(window.bars.probs, [0.1, 0.2, 0.7], atol=1e-6)
    assert window.top_label.text().startswith("surprise")
    assert window.events.item(0, 1).text() == "surprise"
    assert window.timeline.point_count() == 6
    assert window.stats_panel.values["provider"] == "FakeProvider"
    assert window.start_button.isEnabled() and not window.stop_button.isEnabled()
    assert "finished" in window.statusBar().currentMessage()


def test_bridge_coalesces_frames_when_display_falls_behind(qtbot):
    bridge = EngineBridge()
    emitted = []
    bridge.frame_ready.connect(lambda: emitted.append(1))
    frames = [FrameInfo(i, i / 30, np.zeros((4, 4, 3), np.uint8), None) for i in range(5)]
    for info in frames:          # the UI does not take any frame in between
        bridge.on_frame(info)
    assert len(emitted) == 1                          # one pending signal, not five
    assert bridge.take_frame().index == 4             # only the newest is shown
    assert bridge.frames_coalesced == 4 and bridge.frames_received == 5
    assert bridge.take_frame() is None
    bridge.on_frame(frames[0])
    assert len(emitted) == 2                          # re-armed after the UI took a frame


def test_recording_writes_every_window_and_event(qtbot, make_window, tmp_path):
    window = make_window(FakeFactory())
    target = tmp_path / "rec.csv"
    target.write_text("earlier recording\n")          # must not be overwritten
    window.record_path.setText(str(target))
    window.record_check.setChecked(True)
    assert window.start()
    wait_idle(qtbot, window)
    engine = window.engine_factory.engines[0]
    saved = window.last_recording.path
    assert saved != target and target.read_text() == "earlier recording\n"
    with open(saved, newline="") as handle:
        rows = list(csv.DictReader(handle))
    windows = [r for r in rows if r["kind"] == "window"]
    events = [r for r in rows if r["kind"] == "event"]
    assert len(windows) == engine.results_sent == 6
    assert len(events) == engine.events_sent == 1
    assert events[0]["label"] == "surprise"
    assert windows[-1]["label"] == "surprise" and float(windows[-1]["p_surprise"]) == pytest.approx(0.7)
    assert [int(r["window_index"]) for r in windows] == list(range(6))
    assert str(saved) in window.statusBar().currentMessage()


def test_stop_mid_run_keeps_everything_recorded(qtbot, make_window, tmp_path):
    window = make_window(FakeFactory(endless=True))
    window.record_path.setText(str(tmp_path / "stop.csv"))
    window.record_check.setChecked(True)
    window.start()
    qtbot.waitUntil(lambda: window.timeline.point_count() >= 3, timeout=5000)
    started = time.monotonic()
    window.stop()
    assert time.monotonic() - started < 0.5            # stop() does not block the UI thread
    assert window.state == "stopping" and not window.stop_button.isEnabled()
    wait_idle(qtbot, window)
    engine = window.engine_factory.engines[0]
    assert not engine._thread.is_alive()
    rows = list(csv.DictReader(open(window.last_recording.path, newline="")))
    assert sum(r["kind"] == "window" for r in rows) == engine.results_sent   # nothing lost on stop
    assert window.statusBar().currentMessage().startswith("Stopped.")
    start_and_wait(qtbot, window)                      # and it can run again
    window.stop()
    wait_idle(qtbot, window)


def test_error_from_failing_source_shows_in_status_bar_and_dialog(qtbot, make_window):
    message = "cannot open camera 0: no camera at index 0"
    window = make_window(FakeFactory(fail_with=message))
    window.set_source(SourceChoice("camera", 0))
    window.start()
    wait_idle(qtbot, window)
    assert message in window.statusBar().currentMessage()
    assert len(window.error_boxes) == 1 and window.error_boxes[0].text() == message
    assert window.error_boxes[0].isVisible()           # shown, without blocking the event loop
    window.error_boxes[0].accept()


def test_error_building_the_engine_is_shown_not_raised(qtbot, make_window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "open", lambda self: shown.append(self.text()))

    def broken_factory(choice, model, listener):
        raise FileNotFoundError("model /nope.onnx does not exist")

    window = make_window(broken_factory)
    start_and_wait(qtbot, window)
    assert window.state == "idle" and window.start_button.isEnabled()
    assert shown and "model /nope.onnx does not exist" in shown[0]
    assert "does not exist" in window.statusBar().currentMessage()


def test_late_signals_of_a_stopped_run_do_not_reach_the_next_run(qtbot, make_window):
    window = make_window(FakeFactory(endless=True))
    start_and_wait(qtbot, window)
    old_bridge = window.bridge
    window.stop()
    wait_idle(qtbot, window)
    start_and_wait(qtbot, window)
    assert window.state == "running"                    # the old run's signals arrive during the new run
    late = threading.Thread(target=lambda: (
        old_bridge.on_result(WindowResult(99, 0, 0, np.array([1, 0, 0], np.float32), CLASSES, 0.0, False, 0.0)),
        old_bridge.on_event(MicroExpressionEvent(0.0, 0.1, "negative", 0.9)),
        old_bridge.on_status(StatusMessage("error", "stale"))))
    late.start()
    late.join()
    qtbot.wait(50)
    window.stop()
    wait_idle(qtbot, window)
    # the fake engine never sends these: a negative event, a [1, 0, 0] window, an error
    assert "negative" not in [e.label for e in window.events.events]
    assert not any(probs[0] == 1.0 for _, probs, _, _ in window.timeline._points)
    assert not window.error_boxes and "stale" not in window.statusBar().currentMessage()


def test_command_line_demo_uses_the_demo_model_says_so_and_starts(qtbot, tmp_path, monkeypatch):
    from gui import app
    from gui.cli import build_parser

    demo_model = tmp_path / "demo.onnx"
    monkeypatch.setattr(app, "demo_model_or_none", lambda: str(demo_model))
    factory = FakeFactory()
    window = create_window(build_parser().parse_args(["--demo"]), engine_factory=factory)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: bool(factory.calls), timeout=3000)
    assert factory.calls[0] == (SourceChoice("demo"), str(demo_model))
    assert window.demo_banner.isVisible() and "synthetic motions" in window.demo_banner.text()
    wait_idle(qtbot, window)
    window.set_source(SourceChoice("camera", 0))
    window.model_path.setText(str(tmp_path / "mine.onnx"))
    assert not window.demo_banner.isVisible()


def test_command_line_source_and_model_pick_camera_and_start(qtbot, tmp_path, monkeypatch):
    from gui import app
    from gui.cli import build_parser

    monkeypatch.setattr(app, "demo_model_or_none", lambda: str(tmp_path / "demo.onnx"))
    factory = FakeFactory()
    args = build_parser().parse_args(["--source", "2", "--model", str(tmp_path / "smic.onnx")])
    window = create_window(args, engine_factory=factory)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: bool(factory.calls), timeout=3000)
    assert factory.calls[0] == (SourceChoice("camera", 2), str(tmp_path / "smic.onnx"))
    assert not window.demo_banner.isVisible()
    wait_idle(qtbot, window)


def test_recorder_numbers_instead_of_overwriting(tmp_path):
    first = CsvRecorder(tmp_path / "a.csv", CLASSES)
    first.close()
    second = CsvRecorder(tmp_path / "a.csv", CLASSES)
    second.close()
    assert first.path.name == "a.csv" and second.path.name == "a-1.csv"


# --- the real engine --------------------------------------------------------------------------------

def test_real_engine_on_a_synthetic_stream_fills_the_window_and_the_csv(qtbot, make_window, tmp_path):
    from mer_live.streaming.engine import Engine
    from mer_live.streaming.sources import ArraySource

    frames = moving_stream(seconds=2.6, motions=((1.5, 1.8, +1),))    # the centre patch slides right and back
    engines = []

    def factory(choice, model_path, listener):
        source = ArraySource(frames, fps=FPS, realtime=True, name="sliding patch")
        engines.append(Engine(source, FakeClassifier(), full_frame_config(), listener))
        return engines[-1]

    window = make_window(factory)
    window.record_path.setText(str(tmp_path / "real.csv"))
    window.record_check.setChecked(True)
    start_and_wait(qtbot, window)
    assert window.timeline.threshold == 2.5
    qtbot.waitUntil(lambda: window.state == "idle", timeout=20000)
    stats = engines[0].stats()
    assert window.video.frames_shown > 0 and window.video.last_index == len(frames) - 1
    assert window.stats_panel.values["provider"] == "FakeProvider"
    assert [e.label for e in window.events.events] == ["right"]
    assert window.events.item(0, 1).text() == "right"
    rows = list(csv.DictReader(open(window.last_recording.path, newline="")))
    assert sum(r["kind"] == "window" for r in rows) == stats.windows > 5
    assert [r["label"] for r in rows if r["kind"] == "event"] == ["right"]
    assert not window.error_boxes
    assert not stats.watch and window.watch_status.isHidden()    # the first spotter has no states to report


def test_real_engine_with_a_missing_camera_shows_the_error_in_the_window(qtbot, make_window):
    from mer_live.streaming.engine import Engine, EngineConfig
    from mer_live.streaming.sources import CameraSource

    def factory(choice, model_path, listener):
        return Engine(CameraSource(choice.value), FakeClassifier(), EngineConfig(face="full"), listener)

    window = make_window(factory)
    window.set_source(SourceChoice("camera", 15))
    window.start()
    qtbot.waitUntil(lambda: window.state == "idle", timeout=10000)
    assert "cannot open camera 15" in window.statusBar().currentMessage()
    assert len(window.error_boxes) == 1 and "cannot open camera 15" in window.error_boxes[0].text()
    assert window.start_button.isEnabled()


class ConstantSmicClassifier:
    """Stands in for the demo model when only the demo stream is under test: always 'sur' at 0.6."""

    provider = "FakeProvider"

    def __init__(self):
        from mer_live.spec import ModelSpec

        self.spec = ModelSpec(model="fake", class_names=("ne", "po", "sur"), num_frames=4, image_size=(32, 32),
                              feature="GRAY_OF", fps=30.0, clip_seconds=0.4)

    def predict(self, x):
        return np.array([[0.2, 0.2, 0.6]], np.float32)


@pytest.fixture(scope="module")
def warm_face_detector():
    """MTCNN loaded and run once beforehand, so the stream's first seconds are not spent loading it."""
    from mer_live.face import FaceDetector

    detector = FaceDetector()
    detector.detect(np.zeros((120, 160, 3), np.uint8))
    return detector


def test_real_engine_on_the_demo_stream_finds_the_face_and_spots_the_motion(qtbot, make_window,
                                                                            warm_face_detector):
    from mer_live.streaming import demo
    from mer_live.streaming.engine import Engine

    engine = None

    def factory(choice, model_path, listener):
        assert choice.kind == "demo"
        nonlocal engine
        source = demo.demo_source(realtime=True, events=((2.0, "sur"),), duration_s=3.0)
        engine = Engine(source, ConstantSmicClassifier(), None, listener, detector=warm_face_detector)
        return engine

    window = make_window(factory)
    window.set_source(SourceChoice("demo"))
    assert window.start()
    qtbot.waitUntil(lambda: window.state == "idle", timeout=30000)
    assert window.video.last_index == int(3.0 * demo.DEMO_FPS) - 1
    assert window.video._face_box is not None                  # MTCNN found the synthetic face
    assert window.bars.class_names == ("ne", "po", "sur")
    assert [e.label for e in window.events.events] == ["sur"]
    assert 1.7 <= window.events.events[0].start <= 2.5
    assert not window.error_boxes
    watch = engine.stats().watch                                  # the region spotter: its share, as counted
    share = round(100 * watch.get("watching", 0) / sum(watch.values()))
    assert share > 0 and window.watch_status.text().endswith(f"watching {share}% of face time")


def test_real_factory_with_the_demo_model_missing_says_how_to_rebuild_it(qtbot, make_window, monkeypatch, tmp_path):
    from gui.session import build_engine
    from mer_live.streaming import demo

    monkeypatch.setattr(demo, "ASSET", tmp_path / "missing_demo_model.onnx")
    window = make_window(build_engine)
    window.set_source(SourceChoice("demo"))
    start_and_wait(qtbot, window)
    assert window.state == "idle"
    assert "build_demo_model.py" in window.error_boxes[0].text()
    assert "missing_demo_model.onnx" in window.statusBar().currentMessage()


def test_real_factory_without_a_model_for_a_camera_asks_for_one(qtbot, make_window):
    from gui.session import build_engine

    window = make_window(build_engine)
    window.set_source(SourceChoice("camera", 0))
    start_and_wait(qtbot, window)
    assert "no model chosen" in window.error_boxes[0].text()


def test_demo_end_to_end_through_the_real_factory(qtbot, make_window, monkeypatch):
    """The shipped demo model on a shortened demo stream: what `mer-live --demo` runs."""
    import functools

    from gui.session import build_engine
    from mer_live.streaming import demo

    if not demo.ASSET.is_file():
        pytest.skip(f"{demo.ASSET} not built yet (python scripts/build_demo_model.py)")
    monkeypatch.setattr(demo, "demo_source", functools.partial(demo.demo_source, duration_s=2.5,
                                                               events=((1.5, "sur"),)))
    window = make_window(build_engine, demo_model=str(demo.ASSET))
    window.set_source(SourceChoice("demo"))
    assert window.start()
    assert window.demo_banner.isVisible()
    qtbot.waitUntil(lambda: window.state == "idle", timeout=60000)
    assert not window.error_boxes, window.error_boxes[0].text() if window.error_boxes else ""
    assert window.video.last_index == int(2.5 * demo.DEMO_FPS) - 1
    assert window.stats_panel.values["provider"].endswith("ExecutionProvider")


# --- what the spotter watched: status bar and timeline band (issue 20, item 5) ------------------------

def test_watch_text_gives_the_share_watched_and_why_not_now():
    from gui.widgets.watch_status import watch_text

    watch = {"watching": 43, "settling": 5, "paused-motion": 2}
    assert watch_text(watch, "watching") == "spotter: watching 86% of face time"
    assert watch_text(watch, "paused-motion").startswith("spotter paused: head moving fast")
    assert "86% of face time" in watch_text(watch, "paused-motion")
    assert watch_text(watch, "settling").startswith("spotter settling")
    assert watch_text({}, "paused-registration").startswith("spotter paused:")
    assert watch_text({}, "") == "" and watch_text(None, "watching") == ""    # the first spotter: nothing said


def test_status_bar_says_what_was_watched_and_timeline_shades_the_rest(qtbot, make_window):
    states = ("watching", "watching", "paused-motion", "paused-motion", "settling", "watching")
    factory = FakeFactory(spot_states=states, watch={"watching": 30, "paused-motion": 20, "settling": 10})
    window = make_window(factory)
    assert window.start()
    wait_idle(qtbot, window)
    ends = [(10 * k + 9) / 200.0 for k in range(6)]             # the fake engine's window end times
    spans = window.timeline.unwatched_spans()
    assert [s for _, _, s in spans] == ["paused-motion", "settling"]
    np.testing.assert_allclose([(a, b) for a, b, _ in spans], [(ends[1], ends[3]), (ends[3], ends[4])])
    assert window.watch_status.text() == "spotter: watching 50% of face time"
    assert not window.watch_status.isHidden()
    assert "finished" in window.statusBar().currentMessage()     # the transient message did not replace it
    # while paused, it says so and why
    window._on_result(WindowResult(9, 1.0, 1.2, np.array([0.2, 0.3, 0.5], np.float32), CLASSES, 0.0, False, 0.01,
                                   spot_state="paused-motion"))
    assert window.watch_status.text().startswith("spotter paused: head moving fast")
    window._reset_views()
    assert window.watch_status.text() == "" and window.timeline.unwatched_spans() == []


def test_an_engine_without_spotter_states_shows_no_band_and_no_watch_text(qtbot, make_window):
    window = make_window(FakeFactory())
    assert window.start()
    wait_idle(qtbot, window)
    assert window.timeline.unwatched_spans() == [] and window.watch_status.isHidden()


def test_timeline_paints_a_band_where_the_spotter_was_not_watching(qtbot):
    from gui.widgets import Timeline

    def mean_brightness(timeline, t0, t1):
        """Mean grey level of the probability plot between two times (its middle rows: no curve there)."""
        image = timeline.grab().toImage()
        left, plot_w = 46.0, timeline.width() - 58.0
        xa, xb = (int(left + t * plot_w / timeline.span_s) for t in (t0, t1))
        rows = range(70, 100)
        values = [image.pixelColor(x, y).value() for x in range(xa + 3, xb - 3) for y in rows]
        return sum(values) / len(values)

    timeline = Timeline(span_s=10.0)
    qtbot.addWidget(timeline)
    timeline.resize(600, 260)
    probs = np.array([1.0, 0.0, 0.0], np.float32)
    for k in range(100):                       # 10 s of results: paused from 4 to 6 s, watching otherwise
        t = 0.1 * (k + 1)
        state = "paused-motion" if 4.0 < t <= 6.0 + 1e-9 else "watching"
        timeline.add_result(WindowResult(k, t - 0.3, t, probs, CLASSES, 0.0, False, 0.01, spot_state=state))
    assert [(round(a, 6), round(b, 6), s) for a, b, s in timeline.unwatched_spans()] == [(4.0, 6.0, "paused-motion")]
    inside, before, after = (mean_brightness(timeline, a, b) for a, b in ((4.2, 5.8), (1.2, 2.8), (7.2, 8.8)))
    assert inside > before + 8 and inside > after + 8, (inside, before, after)
