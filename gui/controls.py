"""The window's left column: source, model, recording, Start/Stop and the pipeline readout.

It holds the widgets and their layout, the file pickers, and turns its inputs into a `SourceChoice` and a
model path. It runs nothing: the window connects Start/Stop and reacts to `choice_changed`.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout,
                               QLineEdit, QPushButton, QRadioButton, QSpinBox, QVBoxLayout, QWidget)

from gui.recording import default_recording_path
from gui.run_controller import RunState
from gui.session import SourceChoice
from gui.widgets import StatsPanel


class ControlPanel(QWidget):
    """Source, model, recording and run controls; `choice_changed` fires when the source or model changes."""

    choice_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(250)
        self.setMaximumWidth(340)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._build_source_box())
        layout.addWidget(self._build_model_box())
        layout.addWidget(self._build_record_box())

        run_row = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("startButton")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
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

    def _build_source_box(self) -> QGroupBox:
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
        self.source_group.buttonToggled.connect(lambda *_: self.choice_changed.emit())
        return source_box

    def _build_model_box(self) -> QGroupBox:
        model_box = QGroupBox("Model (.onnx)")
        model_layout = QVBoxLayout(model_box)
        self.model_path = QLineEdit()
        self.model_path.setPlaceholderText("demo model with the Demo source")
        self.model_path.textChanged.connect(lambda _: self.choice_changed.emit())
        self.model_button = QPushButton("Model…")
        self.model_button.clicked.connect(self._pick_model)
        model_layout.addWidget(self.model_path)
        model_layout.addWidget(self.model_button)
        return model_box

    def _build_record_box(self) -> QGroupBox:
        record_box = QGroupBox("Recording")
        record_layout = QVBoxLayout(record_box)
        self.record_check = QCheckBox("Record windows and events to CSV")
        self.record_path = QLineEdit(str(default_recording_path()))
        self.record_path.setCursorPosition(0)
        self.record_button = QPushButton("Save as…")
        self.record_button.clicked.connect(self._pick_record_path)
        self.record_path.setToolTip("An existing file is never overwritten: a numbered name (-1, -2, ...) is used")
        record_layout.addWidget(self.record_check)
        record_layout.addWidget(self.record_path)
        record_layout.addWidget(self.record_button)
        return record_box

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

    # what to run ---------------------------------------------------------------------------------
    def set_source(self, choice: SourceChoice) -> None:
        if choice.kind == "camera":
            self.camera_index.setValue(int(choice.value))
            self.camera_radio.setChecked(True)
        elif choice.kind == "file":
            self.file_path.setText(str(choice.value))
            self.file_radio.setChecked(True)
        else:
            self.demo_radio.setChecked(True)

    def source_choice(self) -> SourceChoice:
        if self.camera_radio.isChecked():
            return SourceChoice("camera", self.camera_index.value())
        if self.file_radio.isChecked():
            return SourceChoice("file", self.file_path.text().strip())
        return SourceChoice("demo")

    def model_for_run(self) -> str | None:
        text = self.model_path.text().strip()
        return text or None

    def recording_path(self) -> str:
        """The path typed in the recording box, or a fresh default name when it is empty."""
        return self.record_path.text().strip() or str(default_recording_path())

    def show_state(self, state: RunState) -> None:
        """Start and the source/model inputs only between runs; Stop only while running."""
        self.start_button.setEnabled(state.editable)
        self.stop_button.setEnabled(state.stoppable)
        for widget in (self.camera_radio, self.camera_index, self.file_radio, self.file_path, self.file_button,
                       self.folder_button, self.demo_radio, self.model_path, self.model_button):
            widget.setEnabled(state.editable)
