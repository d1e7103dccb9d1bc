"""Shows the newest frame with the face box; counts the frames it actually paints (display fps).

Qt merges several update() calls into one paint, so a frame handed over but replaced before the next
paint is never seen: display fps counts paints of new frames, not frames handed over.
"""
from __future__ import annotations

import time
from collections import deque

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from mer_live.streaming.events import FrameInfo


def frame_to_qimage(frame: np.ndarray) -> QImage:
    """(H, W, 3) RGB uint8 -> a QImage that owns its pixels (the numpy buffer may be freed after)."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {frame.shape} {frame.dtype}")
    frame = np.ascontiguousarray(frame)
    height, width, _ = frame.shape
    return QImage(frame.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class VideoView(QWidget):
    """Dark video area; paints only the frame it was last given, scaled to fit, face box on top."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self._image: QImage | None = None
        self._face_box: tuple[int, int, int, int] | None = None
        self._caption = ""
        self._placeholder = "No source running.\nPick a source and press Start."
        self._painted_times: deque[float] = deque(maxlen=240)
        self._unpainted = False
        self.frames_shown = 0          # handed to the view
        self.frames_painted = 0        # actually drawn on screen
        self.last_index = -1

    def show_frame(self, info: FrameInfo) -> None:
        self._image = frame_to_qimage(info.frame)
        self._face_box = info.face_box
        self.last_index = info.index
        self.frames_shown += 1
        self._unpainted = True
        self.update()

    def set_caption(self, text: str) -> None:
        self._caption = text
        self.update()

    def clear(self, placeholder: str | None = None) -> None:
        self._image = None
        self._face_box = None
        if placeholder is not None:
            self._placeholder = placeholder
        self.update()

    def display_fps(self, horizon_s: float = 2.0) -> float:
        """New frames painted per second over the last `horizon_s` (0 when idle)."""
        now = time.monotonic()
        recent = [t for t in self._painted_times if now - t <= horizon_s]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(now - recent[0], 1e-6)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#0d0d0f"))
        if self._image is None:
            painter.setPen(QColor("#8a8a8a"))
            painter.setFont(QFont(self.font().family(), 13))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
            return
        img_w, img_h = self._image.width(), self._image.height()
        scale = min(self.width() / img_w, self.height() / img_h)
        draw_w, draw_h = img_w * scale, img_h * scale
        target = QRectF((self.width() - draw_w) / 2, (self.height() - draw_h) / 2, draw_w, draw_h)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, self._image)
        if self._unpainted:
            self._unpainted = False
            self.frames_painted += 1
            self._painted_times.append(time.monotonic())
        if self._face_box is not None:
            x1, y1, x2, y2 = self._face_box
            pen = QPen(QColor("#00e676"), 2)
            painter.setPen(pen)
            painter.drawRect(QRectF(target.x() + x1 * scale, target.y() + y1 * scale,
                                    (x2 - x1) * scale, (y2 - y1) * scale))
        if self._caption:
            painter.setFont(QFont(self.font().family(), 11, QFont.Weight.Bold))
            metrics = painter.fontMetrics()
            box = metrics.boundingRect(self._caption).adjusted(-8, -4, 8, 4)
            box.moveTopLeft(target.topLeft().toPoint() + QRectF(0, 0, 10, 10).bottomRight().toPoint())
            painter.fillRect(box, QColor(0, 0, 0, 170))
            painter.setPen(QColor("#ffffff"))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self._caption)
