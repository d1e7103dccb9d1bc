"""Readout of the pipeline's rates: capture, display, inference, latency, ONNX Runtime provider, and how long
each stage takes (decode, detect, crop, spotting, features, inference: median / p95 ms)."""
from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from mer_live.streaming.events import EngineStats
from mer_live.streaming.timings import STAGES


class StatsPanel(QWidget):
    """Label per figure; `values` keeps the shown text so tests and screenshots can read it."""

    FIELDS = (("capture", "capture fps"), ("display", "display fps"), ("inference", "inference rate"),
              ("latency", "latency"), ("provider", "provider"), ("windows", "windows"),
              ("dropped", "skipped"), ("stages", "stages ms"))

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
        self._labels["stages"].setToolTip("median / 95th percentile milliseconds of each pipeline stage: decode "
                                          "and crop and spotting per frame, detect when it runs, features and "
                                          "inference per classified window")
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
                "stages": "\n".join(f"{stage} {stats.stages[stage].median_ms:.1f} / {stats.stages[stage].p95_ms:.1f}"
                                    for stage in STAGES if stage in getattr(stats, "stages", {})) or "–",
            }
        for key, text in texts.items():
            self._labels[key].setText(text)
        self.values = texts
