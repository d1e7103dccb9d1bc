"""The live engine: source -> still face box -> region spotter (every frame) -> events; windows -> classifier.

Every frame: decode, apply the face detections due on it (mer_live.streaming.detection decides which frames
are detected, by frame index and time alone), crop the held box, and feed the crop to the region spotter
(mer_live.streaming.spotting), which needs no classifier. When the spotter closes a micro-expression, the
window of the model's clip length centred on it is classified (never dropped) and the event is reported.
Every `stride_s`, the newest window is also classified for the probability bars, the timeline and the CSV.

Two ways to run, with the same events on the same file (spotting and detection depend only on the frames):
- `start()`: threads. Capture (reads, crops, spots; never waits for the model), detection (MTCNN on its own
  thread; capture waits for a result only if it is not back `lag_frames` frames later) and inference (event
  windows first, then the newest stride window from a one-slot mailbox: when the model is slower than the
  stride, stale windows are dropped, never queued, and counted in `stats().dropped_windows`).
- `run()`: as fast as it goes, every stride window classified, `batch` windows at a time (headless runs,
  benchmarks, tests). The calling thread reads, detects and spots; one worker computes the features and
  probabilities of one batch meanwhile (OpenCV and ONNX Runtime release the GIL, so two cores both work).
  Results and events are still published from the calling thread only, each batch's results in order.

`EngineConfig.legacy()` is mer-live's first engine (a window-flow spotter, batch 1, MTCNN every 5th frame),
kept so benchmarks can run it beside this one.
"""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from mer_live.flow import FLOW_CHOICES, OPENCV, choose_flow_backend
from mer_live.streaming.detection import Detection, DetectionConfig, DetectionSchedule, detect_face, load_detector
from mer_live.streaming.events import (EngineStats, FrameInfo, MicroExpressionEvent, StatusMessage,
                                       WindowResult)
from mer_live.streaming.face_motion import normalised_gray
from mer_live.streaming.face_tracker import FaceTracker, TrackerConfig
from mer_live.streaming.handoff import Inbox, Pending
from mer_live.streaming.legacy_spotting import EventBuilder, LegacySpotter, LegacySpotterConfig, active_span
from mer_live.streaming.protocols import Classifier, EngineListener, FaceDetector
from mer_live.streaming.sources import FrameSource, SourceError, TimestampError
from mer_live.streaming.spotting import RegionSpotter, Segment, SpotterConfig
from mer_live.streaming.timings import StageClock
from mer_live.streaming.window import Window, WindowBuffer, prepare_window

log = logging.getLogger(__name__)

FACE_MODES = ("detect", "full")
HEAD_TRAVEL_PX = 6.4        # the head's travel since the last detection (pixels of a 64-px crop, a tenth of the
                            # crop) that asks for the next one now: the box may have to follow it


@dataclass
class EngineConfig:
    stride_s: float = 0.1               # a window every stride seconds of stream time
    clip_seconds: float | None = None   # window length; None = the model's spec.clip_seconds
    detect_every: int | None = None     # detect every k-th frame (mer-live's first schedule); None = when needed
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    face: str = "detect"                # "detect": MTCNN + still box; "full": frames are already face crops
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    spotter: SpotterConfig | LegacySpotterConfig = field(default_factory=SpotterConfig)
    batch: int = 8                      # run(): stride windows classified together
    classify_windows: bool = True       # classify stride windows (bars, timeline, CSV); events are always classified
    camera_retries: int = 3             # re-open attempts after a camera stops delivering
    retry_delay_s: float = 0.5
    max_read_failures: int = 10         # consecutive bad frames in a file/folder before giving up
    flow: str = "auto"                  # window flow: auto (torch on a CUDA GPU, else OpenCV), opencv, torch

    def __post_init__(self) -> None:
        if self.face not in FACE_MODES:
            raise ValueError(f"face mode {self.face!r} is unknown; choose one of {FACE_MODES}")
        if self.stride_s <= 0:
            raise ValueError(f"stride must be > 0 seconds, got {self.stride_s}")
        if self.detect_every is not None:
            if self.detect_every < 1:
                raise ValueError(f"detect_every must be >= 1, got {self.detect_every}")
            self.detection = dataclasses.replace(self.detection, every_frames=self.detect_every)
        if self.batch < 1:
            raise ValueError(f"batch must be >= 1 window, got {self.batch}")
        if self.flow not in FLOW_CHOICES:
            raise ValueError(f"flow backend {self.flow!r} is unknown; choose one of {', '.join(FLOW_CHOICES)}")
        if isinstance(self.spotter, LegacySpotterConfig) and not self.classify_windows:
            raise ValueError("the legacy spotter scores every stride window: it needs classify_windows=True")

    @classmethod
    def legacy(cls, **overrides: Any) -> "EngineConfig":
        """mer-live's first engine: window-flow spotting, one window at a time, MTCNN on every 5th frame at
        full size (live: whenever the detector is free, its result applied when it comes, so live and
        offline runs can differ). For side-by-side benchmarks; it reports blinks and head motion."""
        settings = dict(spotter=LegacySpotterConfig(), batch=1, detect_every=5,
                        detection=DetectionConfig(lag_frames=None, max_side=None, min_face_px=20,
                                                  torch_threads=None))
        settings.update(overrides)
        return cls(**settings)


@dataclass(frozen=True)
class _EventJob:
    segment: Segment
    window: Window | None            # the frames it is classified on (None: not classified)


def _rate(times, default: float = 0.0) -> float:
    """Ticks per second over a window of tick times; `default` until two distinct times are known."""
    if len(times) > 1 and times[-1] > times[0]:
        return (len(times) - 1) / (times[-1] - times[0])
    return default


class Engine:
    """`Engine(source, classifier=None, config, listener, detector)`; `.start()/.stop()/.join()` or `.run()`
    (one of them, once); `.stats()`.

    Without a classifier the engine spots and reports events with label "" (and no window results).
    `detector` defaults to MTCNN (mer_live.face.FaceDetector), loaded when first needed (it sets torch's
    CPU threads to `config.detection.torch_threads`, process-wide). The source's timestamps must increase
    (`run()` raises TimestampError, threads report it and stop); `run()` after `start()` (or the reverse,
    or twice) raises RuntimeError. Live (threads) drops stale stride windows, never events.
    """

    def __init__(self, source: FrameSource, classifier: Classifier | None = None,
                 config: EngineConfig | None = None, listener: EngineListener | None = None,
                 detector: FaceDetector | None = None):
        self.source = source
        self.classifier = classifier
        self.spec = classifier.spec if classifier is not None else None
        self.config = config or EngineConfig()
        self.listener = listener
        self._detector = detector
        self.legacy = isinstance(self.config.spotter, LegacySpotterConfig)
        # the windows' flow (a spotter alone computes none, so `auto` then looks for no GPU)
        self.flow_backend = choose_flow_backend(self.config.flow) if classifier is not None else OPENCV
        if self.legacy and classifier is None:
            raise ValueError("the legacy spotter scores the model's window flow: give it a classifier, or use "
                             "the region spotter (SpotterConfig), which needs none")
        self.tracker = FaceTracker(self.config.tracker)
        self.schedule = DetectionSchedule(self.config.detection)
        self.clock = StageClock()
        self.buffer: WindowBuffer | None = None
        if classifier is not None:
            clip_seconds = self.config.clip_seconds or self.spec.clip_seconds
            history = clip_seconds
            if not self.legacy:          # an event is classified on a clip centred on it, after it closed
                cfg = self.config.spotter
                history = clip_seconds + cfg.max_micro_s + cfg.quiet_s + 2 * cfg.lag_s + 0.5
            self.buffer = WindowBuffer(clip_seconds, self.spec.image_size, history_seconds=history)
        if self.legacy:
            self.spotter = None
            self.legacy_spotter = LegacySpotter(self.config.spotter)
            self.events = EventBuilder(self.spec.class_names)
        else:
            self.spotter = RegionSpotter(self.config.spotter)
            self.legacy_spotter = None
            self.events = None
        self.event_list: list[MicroExpressionEvent] = []

        self._mode: str | None = None
        self._stop = threading.Event()
        self._inbox = Inbox()               # inference thread: event jobs (FIFO), newest stride window
        self._detect_inbox = Inbox()        # detection thread: detection jobs (FIFO)
        self._pending: collections.deque = collections.deque()   # (apply on frame index, Pending detection)
        self._batch: list[Window] = []
        self._batch_worker: concurrent.futures.ThreadPoolExecutor | None = None   # run(): one batch at a time
        self._batch_in_flight: tuple[list[Window], concurrent.futures.Future] | None = None
        self._threads: list[threading.Thread] = []
        self._stats_lock = threading.Lock()
        self._frames = 0
        self._capture_clock: collections.deque = collections.deque(maxlen=120)
        self._windows_made = 0
        self._windows_done = 0
        self._event_clips = 0               # events' own clips classified (counted apart from stride windows)
        self._dropped = 0
        self._detections = 0
        self._watch: collections.Counter = collections.Counter()   # face frames per region spotter state
        self._latencies: collections.deque = collections.deque(maxlen=200)
        self._result_clock: collections.deque = collections.deque(maxlen=60)
        self._started_at: float | None = None
        self._finished_at: float | None = None
        self._box_changes = 0                   # how many times the crop box changed (refilling the window)
        self._spotted_box_changes = 0           # box_changes of the last window the first spotter scored
        self._next_window_t: float | None = None
        self._last_t: float | None = None
        self._spot_t: float | None = None       # the last frame the spotter saw
        self._head_travel = 0.0                 # how far the head moved since the last detection was scheduled
        self._lost_reported = False
        self.finished = threading.Event()
        self._detector_ready = threading.Event()

    # ------------------------------------------------------------------ public API
    def start(self) -> None:
        """Run in background threads; listener callbacks come from those threads."""
        self._claim("start")
        self._started_at = time.perf_counter()
        self._threads = [threading.Thread(target=self._capture_thread, name="mer-capture", daemon=True),
                         threading.Thread(target=self._inference_thread, name="mer-inference", daemon=True)]
        if self.config.face == "detect":
            self._threads.append(threading.Thread(target=self._detection_thread, name="mer-detect", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Ask the threads to finish; the current window is completed, then on_finished is called."""
        self._stop.set()
        self._inbox.close()
        self._detect_inbox.close()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the threads; True when all have finished."""
        deadline = None if timeout is None else time.perf_counter() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.perf_counter()))
        return not any(t.is_alive() for t in self._threads)

    def run(self) -> list[MicroExpressionEvent]:
        """Process the whole source in this thread (every window classified, none dropped); the events."""
        self._claim("run")
        self._started_at = time.perf_counter()
        if not self.legacy:          # the first engine stays as it was: everything in this thread
            self._batch_worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mer-batch")
        try:
            self._capture_loop(sync=True)
            self._classify_batch()
            self._publish_batch_in_flight()
            self._end_of_stream(sync=True)
        finally:
            if self._batch_worker is not None:
                self._batch_worker.shutdown(wait=True, cancel_futures=True)
            self._finish()
        return list(self.event_list)

    def stats(self) -> EngineStats:
        with self._stats_lock:
            end = self._finished_at or time.perf_counter()
            elapsed = end - self._started_at if self._started_at else 0.0
            rate = self._windows_done / elapsed if elapsed > 0 else 0.0
            latency = float(np.median(self._latencies)) * 1000 if self._latencies else 0.0
            return EngineStats(capture_fps=_rate(self._capture_clock), inference_rate=rate, latency_ms=latency,
                               provider=str(getattr(self.classifier, "provider", "")), frames=self._frames,
                               windows=self._windows_done, event_clips=self._event_clips,
                               dropped_windows=self._dropped,
                               stages=self.clock.summary(), watch=dict(self._watch),
                               extra={"windows_made": self._windows_made,
                                      "recent_inference_rate": _rate(self._result_clock, rate),
                                      "reanchors": self.tracker.reanchors, "events": len(self.event_list),
                                      "detections": self._detections, "elapsed_s": elapsed,
                                      "spotter": "legacy" if self.legacy else "regions",
                                      "flow": str(self.flow_backend) if self.classifier is not None else ""})

    def _claim(self, mode: str) -> None:
        if self._mode is not None:
            raise RuntimeError(f"this engine was already used with {self._mode}(); an Engine runs once, either "
                               f"start() (threads) or run() (this thread): create a new Engine to run again")
        self._mode = mode

    # ------------------------------------------------------------------ threads
    def _capture_thread(self) -> None:
        try:
            if self.config.face == "detect":
                # importing and warming MTCNN holds the GIL for long stretches: do it before the first frame
                self._detector_ready.wait()
            self._capture_loop(sync=False)
            self._end_of_stream(sync=False)
        except TimestampError as exc:
            self._status("error", f"capture stopped: {exc}")
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the GUI waiting forever
            log.exception("capture failed")
            self._status("error", f"capture stopped by an internal error: {exc!r}. Please report it with the log.")
        finally:
            self._inbox.close()
            self._detect_inbox.close()

    def _detection_thread(self) -> None:
        try:
            if self._detector is None:
                self._status("info", "loading the face detector (MTCNN)")
            self._detect(np.zeros((160, 160, 3), np.uint8), count=False)   # load + warm up: the first call is slow
        finally:
            self._detector_ready.set()
        for job in self._detect_inbox:
            job.finish(self._detect(job.item))

    def _inference_thread(self) -> None:
        try:
            for item in self._inbox:
                if isinstance(item, _EventJob):
                    self._emit_event(self._event_from(item))
                else:
                    self._classify([item])
        except Exception as exc:  # noqa: BLE001
            log.exception("inference failed")
            self._status("error", f"inference stopped by an internal error: {exc!r}. Please report it with the log.")
        finally:
            self._finish()

    # ------------------------------------------------------------------ capture
    def _capture_loop(self, sync: bool) -> None:
        try:
            self.source.open()
        except SourceError as exc:
            self._status("error", str(exc))
            return
        self._status("info", f"reading {self.source.name}")
        failures = 0
        try:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    frame = self.source.read()
                except SourceError as exc:
                    failures += 1
                    if not self._recover(exc, failures):
                        return
                    continue
                failures = 0
                if frame is None:
                    self._status("info", f"end of {self.source.name}")
                    return
                if not (self.source.realtime and not self.source.live):   # a paced read also waits
                    self.clock.add("decode", time.perf_counter() - started)
                self._on_frame(frame, sync)
        finally:
            self.source.close()

    def _recover(self, exc: SourceError, failures: int) -> bool:
        """Report a failed read; retry a camera by re-opening it. False = give up."""
        if self.source.live:
            if failures > self.config.camera_retries:
                self._status("error", f"{exc} Gave up after {self.config.camera_retries} re-open attempts; "
                                      f"reconnect the camera and start again")
                return False
            self._status("warning", f"{exc} (re-opening, attempt {failures}/{self.config.camera_retries})")
            time.sleep(self.config.retry_delay_s)
            try:
                self.source.reopen()
            except SourceError as reopen_exc:
                self._status("warning", str(reopen_exc))
            return True
        if failures > self.config.max_read_failures:
            self._status("error", f"{exc} {failures} bad frames in a row: stopping; fix or replace the source")
            return False
        self._status("warning", f"{exc} (frame skipped)")
        return True

    def _on_frame(self, frame, sync: bool) -> None:
        captured_at = time.perf_counter()
        if self._last_t is not None and frame.timestamp <= self._last_t:
            raise TimestampError(f"{self.source.name}: frame {frame.index} has timestamp {frame.timestamp} s, not "
                             f"after the previous frame's {self._last_t} s; timestamps must increase")
        self._last_t = frame.timestamp
        with self._stats_lock:
            self._frames += 1
            self._capture_clock.append(captured_at)
        rgb = frame.rgb
        box = self._face_box(frame, sync)
        if box is not None:
            self._spot(frame.timestamp, rgb, box, captured_at, sync)
        state = self.spotter.state if self.spotter is not None and box is not None else ""
        self._emit("on_frame", FrameInfo(index=frame.index, timestamp=frame.timestamp, frame=rgb, face_box=box,
                                         capture_fps=_rate(self._capture_clock), spot_state=state))
        if box is None or self.buffer is None or not self.buffer.full():
            return
        if self._next_window_t is not None and frame.timestamp < self._next_window_t - 1e-6:
            return
        self._next_window_t = frame.timestamp + self.config.stride_s
        self._windows_made += 1              # counted whether classified or not: the source held it
        if not self.config.classify_windows:
            return
        score, candidate = (self.spotter.score, self.spotter.active) if self.spotter else (0.0, False)
        window = self.buffer.snapshot(self._windows_made - 1, captured_at, self._box_changes, score, candidate,
                                      self.spotter.state if self.spotter else "")
        if sync:
            self._batch.append(window)
            if len(self._batch) >= self.config.batch:
                self._classify_batch()
        elif self._inbox.put_newest(window):
            with self._stats_lock:
                self._dropped += 1

    def _spot(self, t: float, rgb: np.ndarray, box, captured_at: float, sync: bool) -> None:
        """Crop the held box for the model's window and the spotter; spot; turn closed segments into events."""
        x1, y1, x2, y2 = box
        with self.clock.time("crop"):
            crop = rgb[y1:y2, x1:x2]
            if self.buffer is not None:
                h, w = self.buffer.image_size
                crop = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA) if crop.shape[:2] != (h, w) else crop
                self.buffer.push(t, crop)
            # the spotter's gray square, from the model's crop when that is as large or larger (one resize)
            size = self.spotter.config.size if self.spotter else 0
            source = crop if self.buffer is None or min(crop.shape[:2]) >= size else rgb[y1:y2, x1:x2]
            gray = normalised_gray(source, size) if self.spotter else None
        if self.spotter is None:
            return
        with self.clock.time("spotting"):
            segments = self.spotter.push(t, gray)
        with self._stats_lock:
            self._watch[self.spotter.state] += 1
        if self._spot_t is not None:             # head_shift is over the spotter's lag: per frame, scale it
            self._head_travel += self.spotter.head_shift * (t - self._spot_t) / self.spotter.config.lag_s
        self._spot_t = t
        for segment in segments:
            self._on_segment(segment, captured_at, sync)

    def _on_segment(self, segment: Segment, captured_at: float, sync: bool) -> None:
        self._emit("on_segment", segment)        # every decided segment, reported or not (noise, blink, ...)
        if not segment.reported:
            return
        window = None
        if self.buffer is not None and segment.kind == "micro":
            window = self.buffer.span((segment.start + segment.end) / 2, captured_at, self._box_changes)
        job = _EventJob(segment, window)
        if sync:
            self._emit_event(self._event_from(job))
        else:
            self._inbox.put(job)

    def _end_of_stream(self, sync: bool) -> None:
        if self.spotter is not None and self._last_t is not None:
            for segment in self.spotter.flush(self._last_t):
                self._on_segment(segment, time.perf_counter(), sync)

    # ------------------------------------------------------------------ face box
    def _face_box(self, frame, sync: bool):
        rgb = frame.rgb
        if self.config.face == "full":
            h, w = rgb.shape[:2]
            side = min(h, w)               # centre square: the crop keeps the face's aspect ratio
            x1, y1 = (w - side) // 2, (h - side) // 2
            return (x1, y1, x1 + side, y1 + side)
        lag = self.config.detection.lag_frames
        if lag is None and not sync:        # mer-live's first way: results apply as they come, a busy detector
            while self._pending and self._pending[0][1].done:               # is not given another frame
                self._apply_detection(self._pending.popleft()[1].result(self._stop), rgb.shape)
            if self._pending:
                return self.tracker.box
        holding = self.tracker.box is not None
        unsure = self.tracker.unsure or self._head_travel > HEAD_TRAVEL_PX
        if self.schedule.due(frame.index, frame.timestamp, holding, unsure):
            self._head_travel = 0.0
            job = Pending(rgb)
            if sync:
                job.finish(self._detect(rgb))
            else:
                self._detect_inbox.put(job)
            self._pending.append((frame.index + (lag or 0), job))
        while self._pending and (lag is not None or sync) and self._pending[0][0] <= frame.index:
            _, job = self._pending.popleft()
            self._apply_detection(job.result(self._stop), rgb.shape)
        return self.tracker.box

    def _detect(self, rgb: np.ndarray, count: bool = True) -> Detection | None:
        if self._detector is None:
            self._detector = load_detector(self.config.detection)
        started = time.perf_counter()
        try:
            return detect_face(self._detector, rgb, self.config.detection.max_side)
        except Exception as exc:  # noqa: BLE001 - one failed detection is a missed face, reported
            log.exception("face detection failed")
            self._status("warning", f"face detection failed on a frame ({exc!r}); treating it as no face")
            return None
        finally:
            if count:
                self.clock.add("detect", time.perf_counter() - started)
                with self._stats_lock:
                    self._detections += 1

    def _apply_detection(self, face: Detection | None, frame_shape) -> None:
        had_box = self.tracker.box is not None
        # an open segment would be lost to a re-anchor: the box holds until the spotter closed it
        update = self.tracker.update(face, frame_shape, hold=self.spotter is not None and self.spotter.active)
        if update.lost:
            self._restart_window(same_face=False)
            self._lost_reported = True
            self._status("warning", "face lost: keep your face in view of the camera, lit from the front; "
                                    "still looking for it")
        elif update.reanchored:
            self._restart_window(same_face=had_box)
            if had_box:
                self._status("info", "face moved: crop box re-anchored (spotting baseline restarts)")
            else:
                self._status("info", f"face {'found again' if self.tracker.reanchors > 1 else 'found'} at {update.box}")
        elif face is None and self.tracker.box is None and not self._lost_reported and self._frames > 1:
            self._lost_reported = True
            self._status("warning", "no face found yet: face the camera, lit from the front; still looking")
        if face is not None and face.landmarks is not None and self.tracker.box is not None and self.spotter:
            x1, y1, x2, _ = self.tracker.box
            size = self.spotter.config.size
            self.spotter.set_landmarks((face.landmarks - np.array([x1, y1])) * size / (x2 - x1))

    def _restart_window(self, same_face: bool) -> None:
        """The crop box changed or is gone: refill the window and restart spotting (an open segment is
        dropped: a face leaving, entering or the box moving is never an event). A face that only moved
        keeps its noise baseline; a new face starts cold."""
        if self.buffer is not None:
            self.buffer.clear()
        if self.spotter is not None:
            self.spotter.reset(keep_baseline=same_face)
        self._spot_t = None
        self._box_changes += 1
        self._next_window_t = None

    # ------------------------------------------------------------------ inference
    def _classify_batch(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            return
        if self._batch_worker is None:
            self._classify(batch)
            return
        self._publish_batch_in_flight()          # at most one batch computes while this thread reads on
        self._batch_in_flight = (batch, self._batch_worker.submit(self._compute, batch))

    def _publish_batch_in_flight(self) -> None:
        if self._batch_in_flight is not None:
            batch, future = self._batch_in_flight
            self._batch_in_flight = None
            self._publish(batch, *future.result())

    def _predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for a batch; a classifier whose batch axis is fixed gets chunks of that size."""
        fixed = getattr(self.classifier, "fixed_batch", None)
        if not isinstance(fixed, int) or fixed == len(x):
            return np.asarray(self.classifier.predict(x), dtype=np.float32)
        out = []
        for i in range(0, len(x), fixed):
            chunk = x[i:i + fixed]
            padded = np.concatenate([chunk, np.repeat(chunk[-1:], fixed - len(chunk), axis=0)]) \
                if len(chunk) < fixed else chunk
            out.append(np.asarray(self.classifier.predict(padded), dtype=np.float32)[:len(chunk)])
        return np.concatenate(out)

    def _classify(self, windows: list[Window]) -> None:
        """Features, one classifier call for all of them, then one result (and legacy spotting) per window."""
        self._publish(windows, *self._compute(windows))

    def _compute(self, windows: list[Window]):
        """The windows' features and probabilities, with their timings; touches no engine state but the clock."""
        prepared, feature_s = [], []
        for window in windows:
            started = time.perf_counter()
            prepared.append(prepare_window(window, self.spec, motion_profile=self.legacy,
                                           flow_backend=self.flow_backend))
            feature_s.append(time.perf_counter() - started)
            self.clock.add("features", feature_s[-1])
        started = time.perf_counter()
        probs = self._predict(np.stack([p.features for p in prepared]))
        inference_s = (time.perf_counter() - started) / len(windows)
        for _ in windows:
            self.clock.add("inference", inference_s)
        return prepared, probs, feature_s, inference_s

    def _publish(self, windows: list[Window], prepared, probs, feature_s, inference_s) -> None:
        """One result (and, for the first engine, its spotting and events) per window, in order."""
        for window, ready, p, f_s in zip(windows, prepared, probs, feature_s):
            if self.legacy:
                started = time.perf_counter()
                score, candidate, span = self._legacy_score(window, ready)
                spot_s = time.perf_counter() - started
                self.clock.add("spotting", spot_s)
            else:
                score, candidate, span, spot_s = window.spot_score, window.candidate, None, 0.0
            done_at = time.perf_counter()
            latency = done_at - window.captured_at
            with self._stats_lock:
                self._windows_done += 1
                self._latencies.append(latency)
                self._result_clock.append(done_at)
            stage_s = {"features": f_s, "inference": inference_s}
            if self.legacy:
                stage_s["spotting"] = spot_s
            result = WindowResult(window_index=window.index, t_start=window.t_start, t_end=window.t_end, probs=p,
                                  class_names=tuple(self.spec.class_names), spot_score=score,
                                  is_candidate=candidate, latency_s=latency, stage_s=stage_s,
                                  spot_state=window.spot_state)
            self._emit("on_result", result)
            if self.legacy:
                self._emit_event(self.events.add(p, score, candidate, span, (window.t_start, window.t_end)),
                                 window.t_end)

    def _legacy_score(self, window: Window, prepared):
        """mer-live's first spotter on one window: (score, candidate, active span)."""
        if window.box_changes != self._spotted_box_changes:
            self._spotted_box_changes = window.box_changes
            self._emit_event(self.events.close(), window.t_start)
            self.legacy_spotter.reset()
        step_threshold = self.legacy_spotter.step_threshold()
        score, candidate = self.legacy_spotter.score(float(prepared.flow_magnitude.mean()))
        span = None
        if candidate:
            half = (window.t_end - window.t_start) / max(len(prepared.step_times), 1) / 2
            span = active_span(prepared.flow_magnitude, prepared.step_times, step_threshold, half)
        return score, candidate, span

    def _event_from(self, job: _EventJob) -> MicroExpressionEvent:
        """The event of a closed segment; a micro-expression is classified on the clip centred on it."""
        segment = job.segment
        label, confidence = "", 0.0
        if job.window is not None:
            started = time.perf_counter()
            features = prepare_window(job.window, self.spec, motion_profile=False,
                                      flow_backend=self.flow_backend).features
            self.clock.add("features", time.perf_counter() - started)
            with self.clock.time("inference"):
                probs = self._predict(features[None])[0]
            with self._stats_lock:
                self._event_clips += 1
            k = int(np.argmax(probs))
            label, confidence = self.spec.class_names[k], float(probs[k])
        return MicroExpressionEvent(start=segment.start, end=segment.end, label=label, confidence=confidence,
                                    peak_score=segment.peak_score, kind=segment.kind,
                                    reported_at=segment.reported_at)

    def _emit_event(self, event: MicroExpressionEvent | None, reported_at: float | None = None) -> None:
        if event is None:
            return
        if reported_at is not None:
            event = dataclasses.replace(event, reported_at=reported_at)
        self.event_list.append(event)
        self._emit("on_event", event)

    def _finish(self) -> None:
        if self.finished.is_set():
            return
        if self.events is not None:
            self._emit_event(self.events.close(), self._last_t)
        with self._stats_lock:
            self._finished_at = time.perf_counter()
        self.finished.set()
        self._emit("on_finished")

    # ------------------------------------------------------------------ listener
    def _status(self, level: str, text: str) -> None:
        self._emit("on_status", StatusMessage(level, text))

    def _emit(self, name: str, *args) -> None:
        callback = getattr(self.listener, name, None)
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:  # noqa: BLE001 - a listener bug must not stop capture or inference
            log.exception("listener %s failed", name)
