"""The live engine: source -> still face box -> sliding window -> features -> classifier -> spotting.

Threads (`start()`): capture (reads frames, crops, fills the window, never waits for the model), detection
(MTCNN on the newest frame whenever it is free, so capture is never held up by it) and inference (takes the
newest window from a one-slot mailbox: when the model is slower than the stride, stale windows are
dropped, never queued, and counted in `stats().dropped_windows`). `run()` does the same work in the calling
thread, detecting every `detect_every` frames and classifying every window (headless runs and tests: the
output does not depend on the machine's speed).
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mer_live.streaming.events import (EngineStats, FrameInfo, MicroExpressionEvent, StatusMessage,
                                       WindowResult)
from mer_live.streaming.face_tracker import FaceTracker, TrackerConfig
from mer_live.streaming.sources import FrameSource, SourceError
from mer_live.streaming.spotting import EventBuilder, Spotter, SpotterConfig, active_span
from mer_live.streaming.window import Window, WindowBuffer, prepare_window

log = logging.getLogger(__name__)

FACE_MODES = ("detect", "full")


@dataclass
class EngineConfig:
    stride_s: float = 0.1               # a window every stride seconds of stream time
    clip_seconds: float | None = None   # window length; None = the model's spec.clip_seconds
    detect_every: int = 5               # run the face detector every k-th frame (run()); threads: when free
    face: str = "detect"                # "detect": MTCNN + still box; "full": frames are already face crops
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    spotter: SpotterConfig = field(default_factory=SpotterConfig)
    camera_retries: int = 3             # re-open attempts after a camera stops delivering
    retry_delay_s: float = 0.5
    max_read_failures: int = 10         # consecutive bad frames in a file/folder before giving up

    def __post_init__(self) -> None:
        if self.face not in FACE_MODES:
            raise ValueError(f"face mode {self.face!r} is unknown; choose one of {FACE_MODES}")
        if self.stride_s <= 0:
            raise ValueError(f"stride must be > 0 seconds, got {self.stride_s}")
        if self.detect_every < 1:
            raise ValueError(f"detect_every must be >= 1, got {self.detect_every}")


class NullListener:
    def on_frame(self, info: FrameInfo) -> None: ...
    def on_result(self, result: WindowResult) -> None: ...
    def on_event(self, event: MicroExpressionEvent) -> None: ...
    def on_status(self, message: StatusMessage) -> None: ...
    def on_finished(self) -> None: ...


class Mailbox:
    """One slot: `put` replaces what is waiting (returns True when it replaced something)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Any = None
        self._closed = False

    def put(self, item: Any) -> bool:
        with self._cond:
            replaced = self._item is not None
            self._item = item
            self._cond.notify()
            return replaced

    def take(self) -> Any:
        """The waiting item or None, without blocking."""
        with self._cond:
            item, self._item = self._item, None
            return item

    def get(self, timeout: float | None = None) -> Any:
        """Wait for an item; None when closed and empty (or on timeout)."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __iter__(self):
        """Yield items as they come until the mailbox is closed and empty."""
        while True:
            item = self.get(timeout=0.5)
            if item is not None:
                yield item
            elif self._closed:
                return


def _rate(times, default: float = 0.0) -> float:
    """Ticks per second over a window of tick times; `default` until two distinct times are known."""
    if len(times) > 1 and times[-1] > times[0]:
        return (len(times) - 1) / (times[-1] - times[0])
    return default


class Engine:
    """`Engine(source, classifier, config, listener)`; `.start()/.stop()/.join()` or `.run()`; `.stats()`.

    `classifier` needs `.spec` (ModelSpec), `.provider` and `.predict(x (B,T,C,H,W) float32) -> probs (B,K)`.
    `detector` needs `.detect(frame_rgb) -> Face | None`; by default MTCNN is loaded when first needed.
    """

    def __init__(self, source: FrameSource, classifier, config: EngineConfig | None = None, listener=None,
                 detector=None):
        self.source = source
        self.classifier = classifier
        self.spec = classifier.spec
        self.config = config or EngineConfig()
        self.listener = listener or NullListener()
        self._detector = detector
        clip_seconds = self.config.clip_seconds or self.spec.clip_seconds
        self.buffer = WindowBuffer(clip_seconds, self.spec.image_size)
        self.tracker = FaceTracker(self.config.tracker)
        self.spotter = Spotter(self.config.spotter)
        self.events = EventBuilder(self.spec.class_names)
        self.event_list: list[MicroExpressionEvent] = []

        self._stop = threading.Event()
        self._windows_box = Mailbox()
        self._detect_box = Mailbox()
        self._detection_result = Mailbox()
        self._threads: list[threading.Thread] = []
        self._stats_lock = threading.Lock()
        self._frames = 0
        self._capture_clock: collections.deque = collections.deque(maxlen=120)
        self._windows_made = 0
        self._windows_done = 0
        self._dropped = 0
        self._latencies: collections.deque = collections.deque(maxlen=200)
        self._result_clock: collections.deque = collections.deque(maxlen=60)
        self._started_at: float | None = None
        self._finished_at: float | None = None
        self._anchor_epoch = 0
        self._spot_epoch = 0
        self._next_window_t: float | None = None
        self._frames_since_detect = 0
        self._detecting = False
        self._lost_reported = False
        self.finished = threading.Event()
        self._detector_ready = threading.Event()

    # ------------------------------------------------------------------ public API
    def start(self) -> None:
        """Run in background threads; listener callbacks come from those threads."""
        if self._threads:
            raise RuntimeError("engine already started; create a new Engine to run again")
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
        self._windows_box.close()
        self._detect_box.close()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the threads; True when all have finished."""
        deadline = None if timeout is None else time.perf_counter() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.perf_counter()))
        return not any(t.is_alive() for t in self._threads)

    def run(self) -> list[MicroExpressionEvent]:
        """Process the whole source in this thread (every window classified, none dropped); the events."""
        self._started_at = time.perf_counter()
        try:
            self._capture_loop(sync=True)
        finally:
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
                               windows=self._windows_done, dropped_windows=self._dropped,
                               extra={"windows_made": self._windows_made,
                                      "recent_inference_rate": _rate(self._result_clock, rate),
                                      "reanchors": self.tracker.reanchors, "events": len(self.event_list)})

    # ------------------------------------------------------------------ threads
    def _capture_thread(self) -> None:
        try:
            if self.config.face == "detect":
                # importing and warming MTCNN holds the GIL for long stretches: do it before the first frame
                self._detector_ready.wait()
            self._capture_loop(sync=False)
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the GUI waiting forever
            log.exception("capture failed")
            self._status("error", f"capture stopped by an internal error: {exc!r}. Please report it with the log.")
        finally:
            self._windows_box.close()
            self._detect_box.close()

    def _detection_thread(self) -> None:
        try:
            if self._detector is None:
                self._status("info", "loading the face detector (MTCNN)")
            self._detect(np.zeros((160, 160, 3), np.uint8))       # load + warm up: the first call is slow
        finally:
            self._detector_ready.set()
        for rgb in self._detect_box:
            self._detection_result.put(("face", self._detect(rgb)))

    def _inference_thread(self) -> None:
        try:
            for window in self._windows_box:
                self._process(window)
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
        with self._stats_lock:
            self._frames += 1
            self._capture_clock.append(captured_at)
        rgb = frame.rgb
        box = self._face_box(rgb, sync)
        if box is not None:
            x1, y1, x2, y2 = box
            self.buffer.push(frame.timestamp, rgb[y1:y2, x1:x2])
        self._emit("on_frame", FrameInfo(index=frame.index, timestamp=frame.timestamp, frame=rgb, face_box=box,
                                         capture_fps=_rate(self._capture_clock)))
        if box is None or not self.buffer.full():
            return
        if self._next_window_t is not None and frame.timestamp < self._next_window_t - 1e-6:
            return
        self._next_window_t = frame.timestamp + self.config.stride_s
        window = self.buffer.snapshot(self._windows_made, captured_at, self._anchor_epoch)
        self._windows_made += 1
        if sync:
            self._process(window)
        elif self._windows_box.put(window):
            with self._stats_lock:
                self._dropped += 1

    def _face_box(self, rgb: np.ndarray, sync: bool):
        if self.config.face == "full":
            h, w = rgb.shape[:2]
            side = min(h, w)               # centre square: the crop keeps the face's aspect ratio
            x1, y1 = (w - side) // 2, (h - side) // 2
            return (x1, y1, x1 + side, y1 + side)
        self._frames_since_detect += 1
        due = self.tracker.box is None or self._frames_since_detect >= self.config.detect_every
        if sync:
            if due:
                self._frames_since_detect = 0
                self._apply_detection(self._detect(rgb), rgb.shape)
        else:
            result = self._detection_result.take()
            if result is not None:
                self._detecting = False
                self._apply_detection(result[1], rgb.shape)
            if due and not self._detecting:
                self._frames_since_detect = 0
                self._detecting = True
                self._detect_box.put(rgb)
        return self.tracker.box

    def _detect(self, rgb: np.ndarray):
        if self._detector is None:
            from mer_live.face import FaceDetector

            self._detector = FaceDetector()
        try:
            return self._detector.detect(rgb)
        except Exception as exc:  # noqa: BLE001 - one failed detection is a missed face, reported
            log.exception("face detection failed")
            self._status("warning", f"face detection failed on a frame ({exc!r}); treating it as no face")
            return None

    def _apply_detection(self, face, frame_shape) -> None:
        had_box = self.tracker.box is not None
        update = self.tracker.update(face, frame_shape)
        if update.lost:
            self._restart_window()
            self._lost_reported = True
            self._status("warning", "face lost: keep your face in view of the camera, lit from the front; "
                                    "still looking for it")
        elif update.reanchored:
            self._restart_window()
            if had_box:
                self._status("info", "face moved: crop box re-anchored (spotting baseline restarts)")
            else:
                self._status("info", f"face {'found again' if self.tracker.reanchors > 1 else 'found'} at {update.box}")
        elif face is None and self.tracker.box is None and not self._lost_reported and self._frames > 1:
            self._lost_reported = True
            self._status("warning", "no face found yet: face the camera, lit from the front; still looking")

    def _restart_window(self) -> None:
        """The crop box changed or is gone: refill the window; a new epoch restarts spotting's baseline."""
        self.buffer.clear()
        self._anchor_epoch += 1
        self._next_window_t = None

    # ------------------------------------------------------------------ inference
    def _process(self, window: Window) -> None:
        if window.anchor_epoch != self._spot_epoch:
            self._spot_epoch = window.anchor_epoch
            self._emit_event(self.events.close())
            self.spotter.reset()
        prepared = prepare_window(window, self.spec)
        probs = np.asarray(self.classifier.predict(prepared.features[None]), dtype=np.float32)[0]
        window_mag = float(prepared.flow_magnitude.mean())
        step_threshold = self.spotter.step_threshold()
        score, candidate = self.spotter.score(window_mag)
        span = None
        if candidate:
            half = (window.t_end - window.t_start) / max(len(prepared.step_times), 1) / 2
            span = active_span(prepared.flow_magnitude, prepared.step_times, step_threshold, half)
        done_at = time.perf_counter()
        latency = done_at - window.captured_at
        with self._stats_lock:
            self._windows_done += 1
            self._latencies.append(latency)
            self._result_clock.append(done_at)
        result = WindowResult(window_index=window.index, t_start=window.t_start, t_end=window.t_end, probs=probs,
                              class_names=tuple(self.spec.class_names), spot_score=score, is_candidate=candidate,
                              latency_s=latency)
        self._emit("on_result", result)
        self._emit_event(self.events.add(probs, score, candidate, span, (window.t_start, window.t_end)))

    def _emit_event(self, event: MicroExpressionEvent | None) -> None:
        if event is not None:
            self.event_list.append(event)
            self._emit("on_event", event)

    def _finish(self) -> None:
        if self.finished.is_set():
            return
        self._emit_event(self.events.close())
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
