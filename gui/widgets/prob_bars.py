"""Horizontal bars of the latest window's class probabilities, the top class highlighted."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui.widgets.palette import BACKGROUND, TEXT, class_color


class ProbabilityBars(QWidget):
    """One labelled bar per class; empty until the first window is classified."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumHeight(120)
        self.class_names: tuple[str, ...] = ()
        self.probs = np.zeros(0, dtype=np.float32)

    def set_classes(self, class_names: tuple[str, ...] | list[str]) -> None:
        self.class_names = tuple(class_names)
        self.probs = np.zeros(len(self.class_names), dtype=np.float32)
        self.setMinimumHeight(max(120, 28 * len(self.class_names) + 12))
        self.update()

    def set_probs(self, probs: np.ndarray, class_names: tuple[str, ...] | None = None) -> None:
        if class_names is not None and tuple(class_names) != self.class_names:
            self.set_classes(class_names)
        self.probs = np.asarray(probs, dtype=np.float32).reshape(-1)
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(BACKGROUND))
        if not self.class_names:
            painter.setPen(QColor("#8a8a8a"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "class probabilities appear here")
            return
        count = len(self.class_names)
        row_h = min(34.0, (self.height() - 8) / count)
        label_w = 110.0
        value_w = 54.0
        bar_w = max(10.0, self.width() - label_w - value_w - 24)
        top = int(np.argmax(self.probs)) if self.probs.size else -1
        font = QFont(self.font().family(), 10)
        for i, name in enumerate(self.class_names):
            y = 4 + i * row_h
            prob = float(self.probs[i]) if i < self.probs.size else 0.0
            font.setBold(i == top)
            painter.setFont(font)
            painter.setPen(QColor(TEXT if i != top else "#ffffff"))
            painter.drawText(QRectF(8, y, label_w - 8, row_h), Qt.AlignmentFlag.AlignVCenter, name)
            track = QRectF(label_w, y + row_h * 0.2, bar_w, row_h * 0.6)
            painter.fillRect(track, QColor("#2c2e33"))
            fill = QRectF(track.x(), track.y(), bar_w * min(max(prob, 0.0), 1.0), track.height())
            color = class_color(i)
            if i != top:
                color.setAlpha(150)
            painter.fillRect(fill, color)
            painter.setPen(QColor(TEXT))
            painter.drawText(QRectF(label_w + bar_w + 8, y, value_w, row_h),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, f"{prob:.2f}")
