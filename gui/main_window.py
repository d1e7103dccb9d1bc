"""The live window: controls on the left, video and timeline in the middle, bars and events on the right.

Engine callbacks arrive through a fresh `EngineBridge` per run (queued signals), so a stopped run's late
signals can never reach the next run, and nothing here blocks on inference.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QMainWindow, QMessageBox, QPushButton, QRadioButton,
                               QSpinBox, QSplitter, QVBoxLayout, QWidget)

from gui.bridge import EngineBridge
from gui.recorder import CsvRecorder
from gui.session import EngineFactory, EngineLike, SourceChoice, build_engine
from gui.widgets import EventList, ProbabilityBars, StatsPanel, Timeline, VideoView
from mer_live.streaming.demo import DEMO_NOTE as DEMO_NOTICE  # one wording for the window and --headless
from mer_live.streaming.events import FrameInfo, MicroExpressionEvent, StatusMessage, WindowResult

STOP_GRACE_S = 5.0
# each EngineBridge signal and the MainWindow slot it is connected to for one run (and detached after it)
BRIDGE_SLOTS = (("frame_ready", "_on_frame_ready"), ("result_ready", "_on_result"), ("event_ready", "_on_event"),
                ("status_ready", "_on_status"), ("finished", "_on_finished"), ("built", "_on_built"),
                ("build_failed", "_on_build_failed"))


def spotting_threshold(engine) -> float | None:
    """The engine's candidate threshold (drawn on the timeline), if it exposes one."""
    config = getattr(engine, "config", None)
    threshold = getattr(getattr(config, "spotter", None), "threshold", getattr(config, "threshold", None))
    return float(threshold) if isinstance(threshold, (int, float)) else None


def default_recording_path() -> Path:
    return Path.cwd() / f"mer-live-{datetime.now():%Y%m%d-%H%M%S}.csv"


class MainWindow(QMainWindow):
    """Owns at most one running engine; `engine_factory` builds it (tests pass a fake)."""

    def __init__(self, engine_factory: EngineFactory = build_engine, demo_model: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("mer-live — facial micro-expression recognition")
        self.resize(1280, 800)
        self.engine_factory = engine_factory
        self.demo_model = demo_model        # shown in the model box when Demo is picked without a model
        self.engine: EngineLike | None = None
        self.bridge: EngineBridge | None = None
        self.recorder: CsvRecorder | None = None
        self.state = "idle"                 # idle | starting | running | stopping
        self._choice: SourceChoice | None = None
        self.error_boxes: list[QMessageBox] = []
        self._stop_requested_at = 0.0
        self._error_shown_this_run = False
        self.last_recording: CsvRecorder | None = None
        self._build_ui()
        self._stats_timer = QTimer(self)
        self._stats_timer.setInterval(500)
        self._stats_timer.timeout.connect(self._refresh_stats)
        self._stats_timer.start()
        self._set_state("idle")

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
        columns.addWidget(self._build_controls())
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
        self.statusBar().showMessage("Ready. Pick a source and a model, then press Start.")

    def _build_controls(self) -> QWidget:
        panel = QWidget()
        panel.setMinimumWidth(250)
        panel.setMaximumWidth(340)
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)

        source_box = QGroupBox("Source")
        grid = QGridLayout(source_box)
        self.source_group = QButtonGroup(self)
        self.camera_radio = QRadioButton("Camera")
        self.camera_index = QSpinBox()
        self.camera_index.setRange(0, 16)
        self.camera_index.setPrefix("index ")
        self.file_radio = QRadioButton("File")
        self.file_path = QLineEdit()
        self.file_path.setPlaceholderText("video file or frame folder")
        self.file_button = QPushButton("Video…")
        self.folder_button = QPushButton("Folder…")
        self.demo_radio = QRadioButton("Demo (synthetic stream)")
        for button in (self.camera_radio, self.file_radio, self.demo_radio):
            self.source_group.addButton(button)
        grid.addWidget(self.camera_radio, 0, 0)
        grid.addWidget(self.camera_index, 0, 1)
        grid.addWidget(self.file_radio, 1, 0)
        grid.addWidget(self.file_path, 1, 1)
        file_buttons = QHBoxLayout()
        file_buttons.addWidget(self.file_button)
        file_buttons.addWidget(self.folder_button)
        grid.addLayout(file_buttons, 2, 1)
        grid.addWidget(self.demo_radio, 3, 0, 1, 2)
        self.demo_radio.setChecked(True)
        self.file_button.clicked.connect(self._pick_video)
        self.folder_button.clicked.connect(self._pick_folder)
        self.camera_index.valueChanged.connect(lambda _: self.camera_radio.setChecked(True))
        self.source_group.buttonToggled.connect(lambda *_: self._update_demo_banner())
        layout.addWidget(source_box)

        model_box = QGroupBox("Model (.onnx)")
        model_layout = QVBoxLayout(model_box)
        self.model_path = QLineEdit()
        self.model_path.setPlaceholderText("demo model with the Demo source")
        self.model_path.textChanged.connect(lambda _: self._update_demo_banner())
        self.model_button = QPushButton("Model…")
        self.model_button.clicked.connect(self._pick_model)
        model_layout.addWidget(self.model_path)
        model_layout.addWidget(self.model_button)
        layout.addWidget(model_box)

        record_box = QGroupBox("Recording")
        record_layout = QVBoxLayout(record_box)
        self.record_check = QCheckBox("Record windows and events to CSV")
        self.record_path = QLineEdit(str(default_recording_path()))
        self.record_path.setCursorPosition(0)
        self.record_button = QPushButton("Save as…")
        self.record_button.clicked.connect(self._pick_record_path)
        self.record_path.setToolTip("An existing file is never overwritten: a numbered name (-1, -2, ...) is used")
        self.record_check.toggled.connect(self._record_toggled)
        record_layout.addWidget(self.record_check)
        record_layout.addWidget(self.record_path)
        record_layout.addWidget(self.record_button)
        layout.addWidget(record_box)

        run_row = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("startButton")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        run_row.addWidget(self.start_button)
        run_row.addWidget(self.stop_button)
        layout.addLayout(run_row)

        stats_box = QGroupBox("Pipeline")
        stats_layout = QVBoxLayout(stats_box)
        stats_layout.setContentsMargins(2, 2, 2, 2)
        self.stats_panel = StatsPanel()
        stats_layout.addWidget(self.stats_panel)
        layout.addWidget(stats_box)
        layout.addStretch(1)
        return panel

    # pickers -------------------------------------------------------------------------------------
    def _pick_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video", "", "Videos (*.mp4 *.avi *.mov *.mkv);;All files (*)")
        if path:
            self.file_path.setText(path)
            self.file_radio.setChecked(True)

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open folder of frames")
        if path:
            self.file_path.setText(path)
            self.file_radio.setChecked(True)

    def _pick_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", "", "ONNX models (*.onnx);;All files (*)")
        if path:
            self.model_path.setText(path)

    def _pick_record_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Record to", self.record_path.text(), "CSV (*.csv)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.record_path.setText(path)

    # source/model state --------------------------------------------------------------------------
    def set_source(self, choice: SourceChoice) -> None:
        if choice.kind == "camera":
            self.camera_index.setValue(int(choice.value))
            self.camera_radio.setChecked(True)
        elif choice.kind == "file":
            self.file_path.setText(str(choice.value))
            self.file_radio.setChecked(True)
        else:
            self.demo_radio.setChecked(True)
        self._update_demo_banner()

    def source_choice(self) -> SourceChoice:
        if self.camera_radio.isChecked():
            return SourceChoice("camera", self.camera_index.value())
        if self.file_radio.isChecked():
            return SourceChoice("file", self.file_path.text().strip())
        return SourceChoice("demo")

    def _model_for_run(self) -> str | None:
        text = self.model_path.text().strip()
        return text or None

    def uses_demo_model(self) -> bool:
        model = self._model_for_run()
        if model is None:
            return self.source_choice().kind == "demo"
        return self.demo_model is not None and Path(model).resolve() == Path(self.demo_model).resolve()

    def _update_demo_banner(self) -> None:
        self.demo_banner.setVisible(self.uses_demo_model())

    # run control ---------------------------------------------------------------------------------
    def start(self) -> bool:
        """Build the engine on a helper thread (opening a model or rendering the demo stream takes seconds,
        which must not freeze the window), then start it in `_on_built`. False if nothing was launched."""
        if self.state != "idle":
            return False
        choice = self.source_choice()
        if choice.kind == "file" and not choice.value:
            self.show_error("No file chosen: pick a video or a folder of frames (Video… / Folder…).")
            return False
        bridge = EngineBridge()            # no Qt parent: it lives as long as the engine that calls it
        for signal, slot in BRIDGE_SLOTS:
            getattr(bridge, signal).connect(getattr(self, slot), Qt.ConnectionType.QueuedConnection)
        self.bridge, self.engine, self._choice = bridge, None, choice
        self._reset_views()
        self.statusBar().setStyleSheet("")
        self.statusBar().showMessage(f"Starting {choice.describe()} (loading the model and the source)…")
        self.video.clear(f"Starting {choice.describe()}…")
        self._set_state("starting")
        model = self._model_for_run()
        threading.Thread(target=self._build_engine, args=(choice, model, bridge), name="mer-gui-build",
                         daemon=True).start()
        return True

    def _build_engine(self, choice: SourceChoice, model: str | None, bridge: EngineBridge) -> None:
        """Helper thread: run the factory; the outcome goes back to the UI thread through the bridge."""
        try:
            engine = self.engine_factory(choice, model, bridge)
        except Exception as exc:  # noqa: BLE001 - any failure to build the engine is shown, not raised
            bridge.build_failed.emit(f"Cannot start {choice.describe()}: {exc}")
            return
        bridge.built.emit(engine)

    def _on_build_failed(self, text: str) -> None:
        if not self._from_current_run():
            return
        self._abandon_run()
        self.video.clear("No source running.\nPick a source and press Start.")
        self.show_error(text)

    def _on_built(self, engine: EngineLike) -> None:
        if not self._from_current_run() or self.state != "starting":
            return                          # the window was closed while the engine was being built
        choice = self._choice
        self.engine = engine
        self.timeline.set_threshold(spotting_threshold(engine))
        if self.record_check.isChecked() and not self._open_recorder():
            self._abandon_run()
            return
        try:
            engine.start()
        except Exception as exc:  # noqa: BLE001
            self._close_recorder()
            self._abandon_run()
            self.show_error(f"Cannot start {choice.describe()}: {exc}")
            return
        self._update_demo_banner()
        self.video.set_caption(choice.describe())
        self._set_state("running")
        self.statusBar().showMessage(f"Running {choice.describe()}"
                                     + (f" → recording {self.recorder.path}" if self.recorder else ""))

    def stop(self) -> None:
        """Ask the engine to stop; the run ends when its on_finished arrives (the UI never blocks here)."""
        if self.state != "running" or self.engine is None:
            return
        self._set_state("stopping")
        self._stop_requested_at = time.monotonic()
        self.statusBar().showMessage("Stopping…")
        try:
            self.engine.stop()
        except Exception as exc:  # noqa: BLE001
            self.show_error(f"Stopping the engine failed: {exc}")
            self._finish_run()

    def _on_finished(self) -> None:
        if self._from_current_run():
            self._finish_run()

    def _finish_run(self) -> None:
        """Join the engine, close the recording, go back to idle (after on_finished, or on shutdown)."""
        engine, bridge = self.engine, self.bridge
        self.engine, self.bridge = None, None
        if engine is not None:
            self._join(engine, 1.0)
        stats = self._safe_stats(engine)
        saved = self._close_recorder()
        if bridge is not None:
            self._detach(bridge)
        was_stopping = self.state == "stopping"
        self._set_state("idle")
        if stats is not None:
            self.stats_panel.update_stats(stats, 0.0, bridge.frames_coalesced if bridge else 0)
        if not self._error_shown_this_run:
            self.statusBar().showMessage(("Stopped." if was_stopping else "Source finished.")
                                         + (f" {saved}" if saved else ""))

    def _abandon_run(self) -> None:
        """Drop a run that never got running (build failed, no recording, start failed, window closed)."""
        bridge, self.bridge, self.engine = self.bridge, None, None
        if bridge is not None:
            self._detach(bridge)
        self._set_state("idle")

    @staticmethod
    def _join(engine: EngineLike, timeout: float) -> None:
        try:
            engine.join(timeout=timeout)
        except TypeError:                   # an engine whose join() takes no timeout
            engine.join()

    @staticmethod
    def _detach(bridge: EngineBridge) -> None:
        """Disconnect a finished run's bridge: whatever its engine still emits goes nowhere."""
        for signal, _ in BRIDGE_SLOTS:
            try:
                getattr(bridge, signal).disconnect()
            except (RuntimeError, TypeError):
                pass

    def _set_state(self, state: str) -> None:
        self.state = state
        idle = state == "idle"
        self.start_button.setEnabled(idle)
        self.stop_button.setEnabled(state == "running")
        for widget in (self.camera_radio, self.camera_index, self.file_radio, self.file_path, self.file_button,
                       self.folder_button, self.demo_radio, self.model_path, self.model_button):
            widget.setEnabled(idle)

    def _reset_views(self) -> None:
        self.timeline.reset()
        self.events.clear_events()
        self.video.clear()
        self._error_shown_this_run = False

    # recording -----------------------------------------------------------------------------------
    def _open_recorder(self) -> bool:
        path = self.record_path.text().strip() or str(default_recording_path())
        try:
            self.recorder = CsvRecorder(path)
        except OSError as exc:
            self.record_check.setChecked(False)
            self.show_error(f"Cannot record to {path}: {exc}. Pick another file (Save as…).")
            return False
        if self.recorder.path != Path(path):
            self.statusBar().showMessage(f"{path} exists; recording to {self.recorder.path} instead")
        return True

    def _close_recorder(self) -> str:
        """Close the CSV (if recording); returns what was saved, for the status bar."""
        if self.recorder is None:
            return ""
        recorder, self.recorder = self.recorder, None
        recorder.close()
        self.last_recording = recorder
        saved = f"Saved {recorder.rows['window']} windows and {recorder.rows['event']} events to {recorder.path}"
        self.statusBar().showMessage(saved)
        return saved

    def _record_toggled(self, checked: bool) -> None:
        if self.state != "running":
            return
        if checked and self.recorder is None:
            if self._open_recorder():
                self.statusBar().showMessage(f"Recording to {self.recorder.path}")
        elif not checked:
            self._close_recorder()

    # engine callbacks (UI thread) ----------------------------------------------------------------
    def _from_current_run(self) -> bool:
        """False for signals of a previous run's bridge (they are disconnected, this is belt and braces)."""
        return self.bridge is not None and self.sender() is self.bridge

    def _on_frame_ready(self) -> None:
        if not self._from_current_run():
            return
        info: FrameInfo | None = self.bridge.take_frame()
        if info is not None:
            self.video.show_frame(info)

    def _on_result(self, result: WindowResult) -> None:
        if not self._from_current_run():
            return
        self.bars.set_probs(result.probs, result.class_names)
        self.events.set_classes(result.class_names)
        self.top_label.setText(f"{result.top_class}  {result.confidence:.2f}"
                               + ("   ● candidate" if result.is_candidate else ""))
        self.timeline.add_result(result)
        if self.recorder is not None:
            self._record(self.recorder.write_result, result)

    def _on_event(self, event: MicroExpressionEvent) -> None:
        if not self._from_current_run():
            return
        self.events.add_event(event)
        self.timeline.add_event(event)
        kind = getattr(event, "kind", "micro")
        what = f"{kind}-expression" + (f" {event.label} ({event.confidence:.2f})" if event.label else "")
        self.statusBar().showMessage(f"Spotted a {what} at {event.start:.2f}s")
        if self.recorder is not None:
            self._record(self.recorder.write_event, event)

    def _record(self, write, item) -> None:
        try:
            write(item)
        except (OSError, ValueError) as exc:
            self._close_recorder()
            self.record_check.setChecked(False)
            self.show_error(f"Recording stopped: {exc}")

    def _on_status(self, message: StatusMessage) -> None:
        if not self._from_current_run():
            return
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
        box.finished.connect(lambda _=0, b=box: self.error_boxes.remove(b) if b in self.error_boxes else None)
        self.error_boxes.append(box)
        box.open()
        return box

    # stats ---------------------------------------------------------------------------------------
    @staticmethod
    def _safe_stats(engine):
        if engine is None:
            return None
        try:
            return engine.stats()
        except Exception:  # noqa: BLE001 - a readout must never break the window
            return None

    def _refresh_stats(self) -> None:
        if self.state == "idle":
            return
        stats = self._safe_stats(self.engine)
        skipped = self.bridge.frames_coalesced if self.bridge is not None else 0
        self.stats_panel.update_stats(stats, self.video.display_fps(), skipped)
        if self.state == "stopping" and time.monotonic() - self._stop_requested_at > STOP_GRACE_S:
            self.statusBar().showMessage(f"Still stopping after {STOP_GRACE_S:.0f} s: the source may be "
                                         f"blocked reading (e.g. a camera). Waiting…")

    # closing -------------------------------------------------------------------------------------
    def shutdown(self, timeout_s: float = 3.0) -> None:
        """Stop the engine, deliver the signals already queued (so the CSV gets them), close the file."""
        from PySide6.QtCore import QCoreApplication

        if self.state == "starting":        # the engine being built is dropped when it arrives
            self._abandon_run()
        engine = self.engine
        if engine is not None:
            try:
                engine.stop()
                self._join(engine, timeout_s)
            except Exception:  # noqa: BLE001
                pass
            QCoreApplication.processEvents()
            if self.engine is not None:     # on_finished did not come: finish here
                self._finish_run()
        self._close_recorder()
        self._stats_timer.stop()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)
