"""The region spotter in the engine: micro-expressions are found, and a face that moves, blinks, smiles,
talks, leaves or is re-anchored is never one. Streams from mer_live.synthetic.distractors (small frames);
the face detector is replaced by the generator's own truth (no MTCNN) except on the real clip."""
from __future__ import annotations

import hashlib
import threading
import time

import numpy as np
import pytest

from mer_live.spec import ModelSpec
from mer_live.streaming.detection import DetectionConfig
from mer_live.streaming.engine import Engine, EngineConfig
from mer_live.streaming.sources import ArraySource, Frame
from mer_live.streaming.spotting import SpotterConfig
from mer_live.streaming.timings import STAGES
from mer_live.synthetic.distractors import make_distractor_stream

from engine_recorder import Recorder

SIZE = (120, 160)


class TruthDetector:
    """Finds the face where the generator put it (frames are recognised by their bytes); `absent(i)` says
    on which frames there is no face."""

    def __init__(self, stream, absent=lambda i: False, frames=None):
        self.stream = stream
        self.absent = absent
        frames = stream.frames if frames is None else frames
        self.index = {hashlib.md5(f.tobytes()).digest(): i for i, f in enumerate(frames)}
        self.calls = 0

    def detect(self, rgb):
        self.calls += 1
        i = self.index[hashlib.md5(np.ascontiguousarray(rgb).tobytes()).digest()]
        return None if self.absent(i) else self.stream.face(i)


class FakeClassifier:
    """Class by where the window's flow is strongest: top half 'brows', bottom half 'mouth'."""

    provider = "FakeProvider"

    def __init__(self, delay_s: float = 0.0):
        self.spec = ModelSpec(model="fake", class_names=("brows", "mouth"), num_frames=4, image_size=(32, 32),
                              feature="GRAY_OF", fps=30.0, clip_seconds=0.5)
        self.delay_s = delay_s

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.delay_s:
            time.sleep(self.delay_s)
        top = x[:, :, 0, :16].mean(axis=(1, 2, 3))
        bottom = x[:, :, 0, 16:].mean(axis=(1, 2, 3))
        mouth = (bottom > top).astype(np.float32)
        return np.stack([1 - 0.8 * mouth - 0.1, 0.8 * mouth + 0.1], axis=1).astype(np.float32)


def stream(seed, duration_s=9.0, micro_count=0, blinks=0, distractors=(), frame_size=SIZE, **kw):
    return make_distractor_stream(seed, duration_s=duration_s, frame_size=frame_size, micro_count=micro_count,
                                  blinks=blinks, distractors=distractors, **kw)


def spot(s, classifier=None, config=None, absent=lambda i: False, threads=False, frames=None):
    recorder = Recorder()
    source = ArraySource(s.frames if frames is None else frames, fps=s.fps)
    engine = Engine(source, classifier, config or EngineConfig(), recorder,
                    detector=TruthDetector(s, absent, source.frames))
    if threads:
        engine.start()
        assert engine.join(timeout=120)
    else:
        engine.run()
    assert recorder.finished.is_set()
    return recorder.events, engine, recorder


def iou(a, b):
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


@pytest.fixture(scope="module")
def mixed():
    """Two micro-expressions, a blink and talking: what most tests below run on."""
    return stream(3, duration_s=11.0, micro_count=2, blinks=1, distractors=("talk",))


def test_micro_expressions_are_found_among_a_blink_and_talking(mixed):
    events, engine, _ = spot(mixed)
    truth = mixed.micro
    assert len(truth) == 2
    assert [e.kind for e in events] == ["micro", "micro"]
    for event, (start, end) in zip(events, truth):
        assert iou((event.start, event.end), (start, end)) >= 0.5, (event, start, end)
        assert event.label == "" and event.reported_at >= event.end          # no classifier: not classified
    assert engine.stats().windows == 0


def test_head_drift_turn_and_lighting_step_are_not_expressions():
    s = stream(1, distractors=("drift", "turn", "light"))
    events, engine, _ = spot(s)
    assert engine.tracker.reanchors >= 2                 # the drift moved the box: it was re-anchored
    assert events == []


def test_micro_expressions_are_found_while_the_head_sways():
    """Head motion is removed before the regions are measured: the head swaying slowly all along (as a
    sitting person's does) neither hides the micro-expressions nor adds any. The frame is bench_distractors'
    (a face of about 70 px); the smaller test frames' 35-px face is blown up to the spotter's crop."""
    s = stream(9, micro_count=3, sway_px=3.0, frame_size=(240, 320))
    events, _, _ = spot(s)
    assert len(events) == 3 and all(e.kind == "micro" for e in events)
    for event, truth in zip(events, s.micro):
        assert iou((event.start, event.end), truth) >= 0.5


def test_blinks_are_not_micro_expressions():
    s = stream(4, micro_count=0, blinks=4)
    assert len(s.of_kind("blink")) == 4
    events, _, _ = spot(s)
    assert events == []


def test_a_held_smile_is_one_macro_expression_and_never_micro():
    s = stream(5, distractors=("smile",))
    events, _, _ = spot(s)
    (smile,) = s.macro
    assert [e.kind for e in events] == ["macro"]
    assert iou((events[0].start, events[0].end), smile) >= 0.5
    assert events[0].end - events[0].start > 0.5 and events[0].label == ""


def test_events_never_overlap_even_when_motions_follow_closely():
    # a long lag and a short quiet time: a segment's reference frame can lie before the previous end
    s = stream(6, duration_s=7.0, micro_count=3, shuffle=False, min_gap_s=0.25)
    config = EngineConfig(spotter=SpotterConfig(lag_s=0.3, quiet_s=0.05))
    events, _, _ = spot(s, config=config)
    assert len(events) >= 2
    for before, after in zip(events, events[1:]):
        assert after.start >= before.end, (before, after)


def test_before_the_baseline_is_ready_motion_is_measured_against_the_noise_of_real_faces():
    # the face appears at 0.5 s, is found on frame 18 (0.6 s) and its box applied 6 frames later (0.8 s); a
    # micro-expression follows at 1.3 s, before 1 s of quiet frames makes a baseline: it is measured against
    # `prior_noise`, the noise of a real face, and this 2.8-px synthetic one is too small to count there (with
    # a prior of a noise-free synthetic face it would)
    s = stream(7, duration_s=5.0, micro_count=1, first_s=1.3)
    events, _, recorder = spot(s, FakeClassifier(), absent=lambda i: i < 15)
    assert events == [] and recorder.results
    noiseless, _, _ = spot(s, FakeClassifier(), absent=lambda i: i < 15,
                           config=EngineConfig(spotter=SpotterConfig(prior_noise=0.001)))
    assert [e.kind for e in noiseless] == ["micro"]


def test_a_face_leaving_and_coming_back_is_never_an_event():
    s = stream(8, duration_s=6.0)
    frames = s.frames.copy()
    gone = slice(60, 90)                                 # 1 s of black, as at a cut in a video
    frames[gone] = 0
    events, engine, recorder = spot(s, frames=frames, absent=lambda i: gone.start <= i < gone.stop)
    texts = [m.text for m in recorder.status]
    assert any("face lost" in t for t in texts) and any("found again" in t for t in texts)
    assert events == []


def test_spotting_needs_no_classifier_and_gives_the_same_events_with_one(mixed):
    without, _, _ = spot(mixed)
    with_model, _, recorder = spot(mixed, FakeClassifier())
    assert [(e.start, e.end, e.kind) for e in without] == [(e.start, e.end, e.kind) for e in with_model]
    assert all(e.label for e in with_model) and recorder.results


def test_threaded_live_path_and_run_report_the_same_events(mixed):
    """What the GUI does (threads, a model slower than the stride: windows dropped) and what --headless does."""
    offline, _, _ = spot(mixed, FakeClassifier())
    live, engine, _ = spot(mixed, FakeClassifier(delay_s=0.05), threads=True)
    assert engine.stats().dropped_windows > 0
    assert [(e.start, e.end, e.kind, e.label) for e in live] == [(e.start, e.end, e.kind, e.label) for e in offline]


def test_per_stage_timings_are_reported_and_fit_in_each_windows_latency(mixed):
    _, engine, recorder = spot(mixed, FakeClassifier())
    stages = engine.stats().stages
    assert set(STAGES) <= set(stages)
    assert all(0 <= t.median_ms <= t.p95_ms and t.count > 0 for t in stages.values())
    assert recorder.results
    for result in recorder.results:
        assert set(result.stage_s) >= {"features", "inference"}
        assert sum(result.stage_s.values()) <= result.latency_s


class ThreadRecordingClassifier(FakeClassifier):
    """Notes which thread each batch was predicted on."""

    def __init__(self):
        super().__init__()
        self.threads = []

    def predict(self, x):
        self.threads.append((threading.current_thread().name, len(x)))
        return super().predict(x)


class ThreadRecorder(Recorder):
    """Notes which thread each result reached the listener on."""

    def __init__(self):
        super().__init__()
        self.result_threads = []

    def on_result(self, result):
        super().on_result(result)
        self.result_threads.append(threading.current_thread().name)


def test_run_predicts_stride_batches_on_its_worker_and_publishes_in_order_from_the_caller(mixed):
    """run() computes a batch of stride windows on one worker while the caller reads on; every result reaches
    the listener from the calling thread, in window order. The first engine keeps everything in the caller."""
    caller = threading.current_thread().name
    for config, batch_thread in ((EngineConfig(), "mer-batch"), (EngineConfig.legacy(face="full"), caller)):
        classifier, recorder = ThreadRecordingClassifier(), ThreadRecorder()
        source = ArraySource(mixed.frames, fps=mixed.fps)
        engine = Engine(source, classifier, config, recorder, detector=TruthDetector(mixed, frames=source.frames))
        engine.run()
        assert len(recorder.results) == engine.stats().windows
        indices = [r.window_index for r in recorder.results]
        assert indices == sorted(indices) and len(set(indices)) == len(indices) > config.batch
        assert set(recorder.result_threads) == {caller}
        stride_batches = [name for name, n in classifier.threads if n == config.batch]
        assert stride_batches and all(name.startswith(batch_thread) for name in stride_batches)


class BackwardsSource(ArraySource):
    """Frame 10's timestamp goes back in time."""

    def read(self):
        frame = super().read()
        if frame is not None and frame.index == 10:
            return Frame(frame.index, frame.timestamp - 0.2, frame.rgb)
        return frame


def test_engine_refuses_misuse(mixed):
    engine = Engine(ArraySource(mixed.frames[:30], fps=mixed.fps), None, EngineConfig(face="full"))
    engine.run()
    with pytest.raises(RuntimeError, match="runs once"):
        engine.start()
    engine = Engine(ArraySource(mixed.frames[:30], fps=mixed.fps), None, EngineConfig(face="full"))
    engine.start()
    with pytest.raises(RuntimeError, match="runs once"):
        engine.run()
    engine.join(timeout=30)
    backwards = Engine(BackwardsSource(mixed.frames[:30], fps=mixed.fps), FakeClassifier(), EngineConfig(face="full"))
    with pytest.raises(ValueError, match="timestamps must increase"):
        backwards.run()


def test_window_buffer_refuses_timestamps_going_back():
    from mer_live.streaming.window import WindowBuffer

    buffer = WindowBuffer(0.5, (8, 8))
    buffer.push(1.0, np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="timestamps must increase"):
        buffer.push(0.9, np.zeros((8, 8, 3), np.uint8))


def test_a_real_face_that_emotes_blinks_and_laughs_gives_no_micro_expression(one_thread):
    """19.7 s of a real woman (tests/data/real): she looks down, blinks, covers her face, smiles, laughs."""
    from pathlib import Path

    from mer_live.streaming.sources import VideoFileSource

    path = Path(__file__).parent / "data" / "real" / "WolfgangLanger_Pexels.mp4"
    recorder = Recorder()
    engine = Engine(VideoFileSource(path), None, EngineConfig(detection=DetectionConfig(max_side=320)), recorder)
    events = engine.run()
    decided = recorder.segments
    assert engine.stats().frames == 472 and engine.tracker.box is not None
    assert [e for e in events if e.kind == "micro"] == []
    # it watched, and it opened and judged motions: "no micro" is a decision, not a spotter that was paused
    # or could not open (the first version passed this test paused 57 % of the time, with nothing closed)
    watch = engine.stats().watch
    assert watch.get("watching", 0) >= 0.85 * sum(watch.values()), watch      # issue 20: 85 % watched
    assert len([s for s in decided if s.kind != "noise"]) >= 3, decided


def test_at_200_fps_micro_expressions_are_found_and_the_stored_frames_stay_bounded():
    """SAMM Long Videos run at 200 fps: the lag and every duration are in seconds, and the spotter keeps a
    bounded stretch of frames (the first version scanned all of them on every frame)."""
    from mer_live.streaming.face_motion import normalised_gray
    from mer_live.streaming.spotting import RegionSpotter

    s = make_distractor_stream(12, duration_s=8.0, fps=200.0, frame_size=SIZE, micro_count=2, blinks=0,
                               distractors=())
    x1, y1, x2, y2 = (int(v) for v in s.face_box)
    spotter = RegionSpotter()
    bound = int(spotter._keep_s * s.fps) + 66
    segments, most = [], 0
    for i, frame in enumerate(s.frames):
        segments += spotter.push(i / s.fps, normalised_gray(frame[y1:y2, x1:x2], spotter.config.size))
        most = max(most, len(spotter._times))
    segments += spotter.flush(len(s.frames) / s.fps)
    micro = [(seg.start, seg.end) for seg in segments if seg.kind == "micro"]
    assert len(micro) == 2 and all(iou(m, t) >= 0.5 for m, t in zip(micro, s.micro)), (segments, s.micro)
    assert most <= bound


def test_what_the_spotter_watched_is_counted_and_a_paused_window_never_looks_quiet(mixed):
    """Every face frame is counted in one spotter state, and each window row says its state: a run that was
    paused throughout says so instead of reading as a quiet face."""
    from mer_live.streaming.headless import format_watch
    from mer_live.streaming.spotting import SPOTTER_STATES

    _, engine, recorder = spot(mixed, FakeClassifier())
    watch = engine.stats().watch
    assert set(watch) <= set(SPOTTER_STATES)
    assert sum(watch.values()) == sum(f.face_box is not None for f in recorder.frames) > 0.9 * len(recorder.frames)
    assert watch["watching"] / sum(watch.values()) > 0.8
    assert {r.spot_state for r in recorder.results} <= set(SPOTTER_STATES)
    assert "watching" in {r.spot_state for r in recorder.results}
    assert format_watch(watch).startswith("the spotter watched 9")

    paused = EngineConfig(spotter=SpotterConfig(max_head_step=1e-6))
    events, engine, recorder = spot(mixed, FakeClassifier(), config=paused)
    watch = engine.stats().watch
    assert events == [] and watch.get("watching", 0) == 0 and watch["paused-motion"] > 0.9 * sum(watch.values())
    assert {r.spot_state for r in recorder.results} <= {"paused-motion", "settling"}
    assert format_watch(watch).startswith("the spotter watched 0% of") and "paused for fast head motion" in format_watch(watch)


def _talking_face(brow_raise: bool, nose_with_jaw: bool = False, once: bool = False, fps: float = 30.0,
                  seconds: float = 7.0, brow_at: float = 3.6, brow_px: float = 1.6) -> list[tuple[float, np.ndarray]]:
    """The bundled face photo talking (jaw and mouth opening 2.2 times a second from 2.0 to 5.5 s) and, with
    `brow_raise`, both brows rising `brow_px` photo pixels at `brow_at` within 0.15 s and staying up (fading slowly);
    with `nose_with_jaw`, the nose wings move with the jaw (the upper lip pulls them in speech); with `once`,
    the jaw opens only once, at 3.0 s for 0.3 s: (time, the 130-px gray face crop) pairs, with camera noise."""
    import cv2

    from mer_live.synthetic.render import FACE_POINTS, astronaut_photo

    x0, y0, side = 160, 50, 130
    crop = cv2.cvtColor(astronaut_photo(), cv2.COLOR_RGB2GRAY).astype(np.float32)[y0:y0 + side, x0:x0 + side]
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float32)

    def blob(point, dx, dy, sigma):
        g = np.exp(-((xs - (point[0] - x0)) ** 2 + (ys - (point[1] - y0)) ** 2) / (2 * sigma * sigma))
        return np.stack([dx * g, dy * g]).astype(np.float32)

    jaw = blob((224, 160), 0, 1, 12)
    if not once:
        jaw = jaw + blob(FACE_POINTS["mouth_l"], 0, 0.6, 7) + blob(FACE_POINTS["mouth_r"], 0, 0.6, 7)
    brows = blob(FACE_POINTS["brow_l"], 0, -1, 9) + blob(FACE_POINTS["brow_r"], 0, -1, 9)
    if nose_with_jaw:
        jaw = jaw + 1.0 * (blob(FACE_POINTS["nose_l"], 0, 1, 5) + blob(FACE_POINTS["nose_r"], 0, 1, 5))
    rng = np.random.default_rng(0)
    out = []
    for i in range(int(seconds * fps)):
        t = i / fps
        talk = 2.5 * abs(np.sin(2 * np.pi * 2.2 * (t - 2.0))) if 2.0 <= t < 5.5 else 0.0
        if once:
            talk = 3.0 * np.sin(np.pi * (t - 3.0) / 0.3) if 3.0 <= t < 3.3 else 0.0
        rise = min(max((t - brow_at) / 0.15, 0.0), 1.0)
        up = brow_px * rise * (1 - 0.25 * min(max((t - brow_at - 0.15) / 2.0, 0.0), 1.0)) if brow_raise else 0.0
        dx, dy = (jaw * talk + brows * up).astype(np.float32)
        img = cv2.remap(crop, xs - dx, ys - dy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        out.append((t, np.clip(img + rng.normal(0, 1.5, img.shape), 0, 255).astype(np.uint8)))
    return out


def _spot_crops(crops, config: SpotterConfig | None = None, states: list | None = None) -> list:
    """The segments a spotter decides on (time, gray crop) pairs of the photo face; its state after each frame
    is appended to `states`."""
    from mer_live.streaming.face_motion import normalised_gray
    from mer_live.streaming.spotting import RegionSpotter
    from mer_live.synthetic.render import FACE_POINTS

    points = [FACE_POINTS["lid_l"], FACE_POINTS["lid_r"], (225, 124), FACE_POINTS["mouth_l"], FACE_POINTS["mouth_r"]]
    spotter = RegionSpotter(config or SpotterConfig())
    size = spotter.config.size
    spotter.set_landmarks((np.array(points, float) - [160, 50]) * size / 130)
    segments = []
    for t, crop in crops:
        segments += spotter.push(t, normalised_gray(crop, size))
        if states is not None:
            states.append(spotter.state)
    return segments + spotter.flush(crops[-1][0])


def test_a_new_face_is_watched_from_its_first_frames_against_the_noise_of_real_faces():
    """Before a face's own noise is known (`min_baseline_s`), the spotter watches it against `prior_noise`, the
    quiet motion of real faces: a clear brow raise 0.6 s after the face appeared is found, where without the
    prior the spotter would still be settling."""
    crops = _talking_face(brow_raise=True, brow_at=0.6, brow_px=8.0, seconds=1.9)
    states: list = []
    segments = _spot_crops(crops, states=states)
    assert states[5:] == ["watching"] * (len(states) - 5), states
    micro = [s for s in segments if s.kind == "micro"]
    assert len(micro) == 1 and micro[0].region.startswith(("brow", "eye")), segments     # the lids rise too
    assert 0.55 <= micro[0].start <= 0.75, micro[0]
    assert [s for s in _spot_crops(crops[:18]) if s.reported] == []     # the still face alone gives nothing

    states = []
    settled = _spot_crops(crops, SpotterConfig(prior_noise=0.0), states)
    assert states[20] == "settling" and [s for s in settled if s.reported] == [], settled


def test_a_brow_raise_while_talking_is_a_micro_expression_of_its_own():
    segments = _spot_crops(_talking_face(brow_raise=True))
    assert any(s.kind == "talk" for s in segments)              # the burst as a whole is talking
    micro = [s for s in segments if s.kind == "micro"]
    assert len(micro) == 1 and micro[0].region.startswith(("brow", "eye")), segments    # one: the lids rise too
    assert iou((micro[0].start, micro[0].end), (3.6, 3.95)) >= 0.5, micro[0]
    quiet = _spot_crops(_talking_face(brow_raise=False))         # talking alone gives none
    assert [s.kind for s in quiet if s.reported] == [], quiet


def test_a_nose_that_moves_with_the_jaw_in_speech_is_not_a_micro_expression():
    segments = _spot_crops(_talking_face(brow_raise=False, nose_with_jaw=True, once=True))
    assert any(s.kind == "talk" and s.detail["nose"] >= SpotterConfig().threshold for s in segments), segments
    assert [s for s in segments if s.reported] == [], segments


def test_landmarks_off_the_crop_fall_back_to_a_frontal_layout_and_spotting_goes_on():
    """A detection's landmarks can lie outside the held box (another face, a box left behind): no points of
    the face are left to fit the head's motion on, and the spotter keeps spotting in a frontal layout
    instead of failing; the brow raise is still found."""
    from mer_live.streaming.face_motion import normalised_gray
    from mer_live.streaming.spotting import RegionSpotter

    crops = _talking_face(brow_raise=True, brow_at=0.6, brow_px=8.0, seconds=1.9)
    spotter = RegionSpotter(SpotterConfig())
    spotter.set_landmarks(np.array([[-29.0, 29.0], [-14.0, 31.0], [-17.0, 43.0], [-35.0, 47.0], [-22.0, 49.0]])
                          * spotter.config.size / 64)
    segments = []
    for t, crop in crops:
        segments += spotter.push(t, normalised_gray(crop, spotter.config.size))
    segments += spotter.flush(crops[-1][0])
    assert len(spotter.motion.regions.fit_points) >= 12
    micro = [s for s in segments if s.kind == "micro"]
    assert len(micro) == 1 and micro[0].region.startswith(("brow", "eye")), segments     # the lids rise too


def test_the_spotter_refuses_crops_of_another_size():
    from mer_live.streaming.spotting import RegionSpotter

    spotter = RegionSpotter(SpotterConfig(size=96))
    spotter.push(0.0, np.zeros((96, 96), np.uint8))
    with pytest.raises(ValueError, match="96x96 gray crops"):
        spotter.push(0.1, np.zeros((64, 64), np.uint8))
