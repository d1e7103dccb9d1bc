"""Class colours shared by the bars, the timeline and the event list, so one class looks the same everywhere."""
from __future__ import annotations

from PySide6.QtGui import QColor

CLASS_COLORS = ("#4fc3f7", "#ffb74d", "#81c784", "#e57373", "#ba68c8", "#fff176", "#4db6ac", "#f06292")
SPOT_COLOR = "#ffffff"
BACKGROUND = "#1e1f22"
GRID = "#3a3c40"
TEXT = "#d8d8d8"


def class_color(index: int) -> QColor:
    return QColor(CLASS_COLORS[index % len(CLASS_COLORS)])
