"""Readout of the pipeline's rates: capture, display, inference, latency, ONNX Runtime provider."""
from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from mer_live.streaming.events import EngineStats


class StatsPanel(QWidget):
    """Label per figure; `values` keeps the shown text so tests and screenshots can read it."""

    FIELDS = (("capture", "capture fps"), ("display", "display fps"), ("inference", "inference rate"),
              ("latency", "latency"), ("provider", "provider"), ("windows", "windows"),
              ("dropped", "skipped"))

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QFormLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self._labels: dict[str, QLabel] = {}
        for key, title in self.FIELDS:
            label = QLabel("–")
            label.setObjectName(f"stat_{key}")
            self._labels[key] = label
            layout.addRow(f"{title}:", label)
        self._labels["dropped"].setToolTip("stale windows skipped by the engine / frames the display skipped")
        self.values: dict[str, str] = {}

    def update_stats(self, stats: EngineStats | None, display_fps: float, frames_skipped: int) -> None:
        if stats is None:
            texts = {key: "–" for key, _ in self.FIELDS}
            texts["display"] = f"{display_fps:.1f}"
        else:
            texts = {
                "capture": f"{stats.capture_fps:.1f} fps",
                "display": f"{display_fps:.1f} fps",
                "inference": f"{stats.inference_rate:.1f} windows/s",
                "latency": f"{stats.latency_ms:.0f} ms",
                "provider": stats.provider or "–",
                "windows": f"{stats.windows}",
                "dropped": f"{stats.dropped_windows} windows / {frames_skipped} frames",
            }
        for key, text in texts.items():
            self._labels[key].setText(text)
        self.values = texts
