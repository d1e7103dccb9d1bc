"""The live window: controls on the left, video and timeline in the middle, bars and events on the right.

The window shows; it does not run anything itself. `ControlPanel` (gui.controls) holds the inputs,
`RunController` (gui.run_controller) owns the engine and its states, `Recording` (gui.recording) the CSV.
Engine callbacks arrive through the controller on the UI thread, only for the current run, and nothing
here blocks on inference.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGroupBox, QLabel, QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from gui.controls import ControlPanel
from gui.recording import Recording
from gui.run_controller import STOP_GRACE_S, RunController, RunEnd, RunState
from gui.session import EngineFactory, EngineLike, SourceChoice, build_engine
from gui.widgets import EventList, ProbabilityBars, Timeline, VideoView, WatchStatus
from mer_live.streaming.demo import DEMO_NOTE as DEMO_NOTICE  # one wording for the window and --headless
from mer_live.streaming.events import FrameInfo, MicroExpressionEvent, StatusMessage, WindowResult


def spotting_threshold(engine) -> float | None:
    """The engine's candidate threshold (drawn on the timeline), if it exposes one."""
    config = getattr(engine, "config", None)
    threshold = getattr(getattr(config, "spotter", None), "threshold", getattr(config, "threshold", None))
    return float(threshold) if isinstance(threshold, (int, float)) else None


class MainWindow(QMainWindow):
    """Owns at most one running engine (through its RunController); `engine_factory` builds it (tests pass a fake)."""

    def __init__(self, engine_factory: EngineFactory = build_engine, demo_model: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("mer-live — facial micro-expression recognition")
        self.resize(1280, 800)
        self.demo_model = demo_model        # shown in the model box when Demo is picked without a model
        self.run_controller = RunController(engine_factory, parent=self)
        self.recording = Recording()
        self._choice: SourceChoice | None = None     # what the run being started or running shows
        self.error_boxes: list[QMessageBox] = []
        self._error_shown_this_run = False
        self.controls = ControlPanel()
        # the inputs that app.py, scripts and tests set directly
        c = self.controls
        self.model_path, self.record_path, self.record_check = c.model_path, c.record_path, c.record_check
        self.start_button, self.stop_button, self.stats_panel = c.start_button, c.stop_button, c.stats_panel
        self._build_ui()
        c.start_button.clicked.connect(self.start)
        c.stop_button.clicked.connect(self.stop)
        c.choice_changed.connect(self._update_demo_banner)
        c.record_check.toggled.connect(self._record_toggled)
        run = self.run_controller
        run.state_changed.connect(c.show_state)
        run.built.connect(self._on_built)
        run.build_failed.connect(self._on_build_failed)
        run.run_ended.connect(self._on_run_ended)
        run.frame_ready.connect(self._on_frame_ready)
        run.result_ready.connect(self._on_result)
        run.event_ready.connect(self._on_event)
        run.status_ready.connect(self._on_status)
        self._stats_timer = QTimer(self)
        self._stats_timer.setInterval(500)
        self._stats_timer.timeout.connect(self._refresh_stats)
        self._stats_timer.start()
        c.show_state(self.run_controller.state)

    # what the app, scripts and tests read ---------------------------------------------------------
    @property
    def state(self) -> RunState:
        return self.run_controller.state

    @property
    def engine(self) -> EngineLike | None:
        return self.run_controller.engine

    @property
    def bridge(self):
        return self.run_controller.bridge

    @property
    def engine_factory(self) -> EngineFactory:
        return self.run_controller.engine_factory

    @property
    def last_recording(self):
        """The latest closed CsvRecorder (its `.path` and `.rows`), or None."""
        return self.recording.last

    # layout --------------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(8, 8, 8, 4)
        self.demo_banner = QLabel(DEMO_NOTICE)
        self.demo_banner.setObjectName("demoBanner")
        self.demo_banner.setWordWrap(True)
        self.demo_banner.setStyleSheet("QLabel#demoBanner { background: #5d4300; color: #ffe082; "
                                       "border: 1px solid #ffb300; border-radius: 4px; padding: 6px; "
                                       "font-weight: bold; }")
        self.demo_banner.hide()
        outer.addWidget(self.demo_banner)

        columns = QSplitter(Qt.Orientation.Horizontal)
        columns.addWidget(self.controls)
        middle = QSplitter(Qt.Orientation.Vertical)
        self.video = VideoView()
        self.timeline = Timeline(span_s=10.0)
        middle.addWidget(self.video)
        middle.addWidget(self.timeline)
        middle.setStretchFactor(0, 3)
        middle.setStretchFactor(1, 2)
        middle.setSizes([470, 260])
        columns.addWidget(middle)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        bars_box = QGroupBox("Latest window")
        bars_layout = QVBoxLayout(bars_box)
        self.top_label = QLabel("–")
        self.top_label.setObjectName("topLabel")
        self.top_label.setStyleSheet("font-size: 15px; font-weight: bold;")
        bars_layout.addWidget(self.top_label)
        self.bars = ProbabilityBars()
        bars_layout.addWidget(self.bars)
        right_layout.addWidget(bars_box)
        events_box = QGroupBox("Spotted expressions")
        events_layout = QVBoxLayout(events_box)
        self.events = EventList()
        events_layout.addWidget(self.events)
        right_layout.addWidget(events_box, 1)
        columns.addWidget(right)
        columns.setStretchFactor(0, 0)
        columns.setStretchFactor(1, 1)
        columns.setStretchFactor(2, 0)
        columns.setSizes([270, 690, 320])
        outer.addWidget(columns, 1)
        self.setCentralWidget(central)
        self.watch_status = WatchStatus()        # permanent: status messages never hide what was watched
        self.statusBar().addPermanentWidget(self.watch_status)
        self.statusBar().showMessage("Ready. Pick a source and a model, then press Start.")

    # source/model state --------------------------------------------------------------------------
    def set_source(self, choice: SourceChoice) -> None:
        self.controls.set_source(choice)
        self._update_demo_banner()

    def source_choice(self) -> SourceChoice:
        return self.controls.source_choice()

    def uses_demo_model(self) -> bool:
        model = self.controls.model_for_run()
        if model is None:
            return self.source_choice().kind == "demo"
        return self.demo_model is not None and Path(model).resolve() == Path(self.demo_model).resolve()

    def _update_demo_banner(self) -> None:
        self.demo_banner.setVisible(self.uses_demo_model())

    # run control ---------------------------------------------------------------------------------
    def start(self) -> bool:
        """Build the engine on a helper thread, then start it in `_on_built`. False if nothing was launched."""
        if self.state is not RunState.IDLE:
            return False
        choice = self.source_choice()
        if choice.kind == "file" and not choice.value:
            self.show_error("No file chosen: pick a video or a folder of frames (Video… / Folder…).")
            return False
        self._reset_views()
        self.statusBar().setStyleSheet("")
        self.statusBar().showMessage(f"Starting {choice.describe()} (loading the model and the source)…")
        self.video.clear(f"Starting {choice.describe()}…")
        self._choice = choice
        return self.run_controller.start(choice, self.controls.model_for_run())

    def _on_build_failed(self, text: str) -> None:
        self.video.clear("No source running.\nPick a source and press Start.")
        self.show_error(text)

    def _on_built(self, engine: EngineLike) -> None:
        choice = self._choice
        self.timeline.set_threshold(spotting_threshold(engine))
        if self.record_check.isChecked() and not self._open_recording():
            self.run_controller.abandon()
            return
        try:
            self.run_controller.launch()
        except Exception as exc:  # noqa: BLE001
            self._close_recording()
            self.run_controller.abandon()
            self.show_error(f"Cannot start {choice.describe()}: {exc}")
            return
        self._update_demo_banner()
        self.video.set_caption(choice.describe())
        self.statusBar().showMessage(f"Running {choice.describe()}"
                                     + (f" → recording {self.recording.recorder.path}" if self.recording.active
                                        else ""))

    def stop(self) -> None:
        """Ask the engine to stop; the run ends when its on_finished arrives (the UI never blocks here)."""
        if not self.state.stoppable or self.engine is None:
            return
        self.statusBar().showMessage("Stopping…")
        try:
            self.run_controller.stop()
        except Exception as exc:  # noqa: BLE001
            self.show_error(f"Stopping the engine failed: {exc}")
            self.run_controller.finish()

    def _on_run_ended(self, end: RunEnd) -> None:
        saved = self._close_recording()
        if end.stats is not None:
            self.stats_panel.update_stats(end.stats, 0.0, end.frames_coalesced)
            self.watch_status.set_watch(getattr(end.stats, "watch", None))
        if not self._error_shown_this_run:
            self.statusBar().showMessage(("Stopped." if end.stopped else "Source finished.")
                                         + (f" {saved}" if saved else ""))

    def _reset_views(self) -> None:
        self.timeline.reset()
        self.watch_status.reset()
        self.events.clear_events()
        self.video.clear()
        self._error_shown_this_run = False

    # recording -----------------------------------------------------------------------------------
    def _open_recording(self) -> bool:
        path = self.controls.recording_path()
        try:
            note = self.recording.open(path)
        except OSError as exc:
            self.record_check.setChecked(False)
            self.show_error(f"Cannot record to {path}: {exc}. Pick another file (Save as…).")
            return False
        if note:
            self.statusBar().showMessage(note)
        return True

    def _close_recording(self) -> str:
        """Close the CSV (if recording); returns what was saved, also shown in the status bar."""
        saved = self.recording.close()
        if saved:
            self.statusBar().showMessage(saved)
        return saved

    def _record_toggled(self, checked: bool) -> None:
        if self.state is not RunState.RUNNING:
            return
        if checked and not self.recording.active:
            if self._open_recording():
                self.statusBar().showMessage(f"Recording to {self.recording.recorder.path}")
        elif not checked:
            self._close_recording()

    def _recording_failed(self, error: str) -> None:
        if error:
            self.record_check.setChecked(False)
            self.show_error(error)

    # engine callbacks (UI thread, current run only) -----------------------------------------------
    def _on_frame_ready(self, info: FrameInfo) -> None:
        self.video.show_frame(info)

    def _on_result(self, result: WindowResult) -> None:
        self.bars.set_probs(result.probs, result.class_names)
        self.events.set_classes(result.class_names)
        self.top_label.setText(f"{result.top_class}  {result.confidence:.2f}"
                               + ("   ● candidate" if result.is_candidate else ""))
        self.timeline.add_result(result)
        self.watch_status.set_state(getattr(result, "spot_state", ""))
        self._recording_failed(self.recording.write_result(result))

    def _on_event(self, event: MicroExpressionEvent) -> None:
        self.events.add_event(event)
        self.timeline.add_event(event)
        kind = getattr(event, "kind", "micro")
        what = f"{kind}-expression" + (f" {event.label} ({event.confidence:.2f})" if event.label else "")
        self.statusBar().showMessage(f"Spotted a {what} at {event.start:.2f}s")
        self._recording_failed(self.recording.write_event(event))

    def _on_status(self, message: StatusMessage) -> None:
        if message.level == "error":
            self.show_error(message.text)
        elif message.level == "warning":
            self.statusBar().showMessage(f"Warning: {message.text}")
        else:
            self.statusBar().showMessage(message.text)

    def show_error(self, text: str) -> QMessageBox:
        """Status bar + a non-blocking dialog: the event loop (and the engine's signals) keep running."""
        self._error_shown_this_run = True
        self.statusBar().setStyleSheet("QStatusBar { color: #ff8a80; }")
        self.statusBar().showMessage(f"Error: {text}")
        box = QMessageBox(QMessageBox.Icon.Critical, "mer-live", text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # a bound method, not a lambda holding the window: the box's deletion must never be what frees the window
        box.finished.connect(self._forget_error_box)
        self.error_boxes.append(box)
        box.open()
        return box

    def _forget_error_box(self) -> None:
        box = self.sender()
        if box in self.error_boxes:
            self.error_boxes.remove(box)

    # stats ---------------------------------------------------------------------------------------
    def _refresh_stats(self) -> None:
        if self.state is RunState.IDLE:
            return
        run = self.run_controller
        stats = run.stats()
        self.stats_panel.update_stats(stats, self.video.display_fps(), run.frames_coalesced)
        if stats is not None:
            self.watch_status.set_watch(getattr(stats, "watch", None))
        if run.stop_overdue():
            self.statusBar().showMessage(f"Still stopping after {STOP_GRACE_S:.0f} s: the source may be "
                                         f"blocked reading (e.g. a camera). Waiting…")

    # closing -------------------------------------------------------------------------------------
    def shutdown(self, timeout_s: float = 3.0) -> None:
        """Stop the engine, deliver the signals already queued (so the CSV gets them), close the file."""
        self.run_controller.shutdown(timeout_s)
        self._close_recording()
        self._stats_timer.stop()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)
