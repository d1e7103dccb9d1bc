"""Scrolling plot of the last seconds: class probabilities on top, the spotting score below.

Drawn with QPainter (no plotting dependency). The time axis is the source's clock (window end times), so
a video file played faster or slower than real time still lines up with its own timestamps.
Stretches where the region spotter was not watching (settling, paused) are hatched grey across both plots, so
a flat spotting score there does not read as quiet time: nothing could have been spotted in them.
"""
from __future__ import annotations

from collections import deque

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui.widgets.palette import BACKGROUND, GRID, SPOT_COLOR, TEXT, class_color
from gui.widgets.watch_status import NOT_WATCHING
from mer_live.streaming.events import MicroExpressionEvent, WindowResult

UNWATCHED_FILL = {"settling": QColor(170, 170, 170, 28), "paused": QColor(170, 170, 170, 60)}
UNWATCHED_HATCH = QColor(190, 190, 190, 90)


class Timeline(QWidget):
    """Probabilities and spotting score of the windows of the last `span_s` seconds, events shaded."""

    def __init__(self, span_s: float = 10.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(180)
        self.span_s = span_s
        self.class_names: tuple[str, ...] = ()
        self.threshold: float | None = None
        self._points: deque[tuple[float, np.ndarray, float, bool]] = deque()
        self._events: deque[MicroExpressionEvent] = deque()
        self._unwatched: deque[list] = deque()    # [t0, t1, state]: the spotter was not watching
        self._last_end: float | None = None
        self._now = 0.0

    def reset(self) -> None:
        self._points.clear()
        self._events.clear()
        self._unwatched.clear()
        self._last_end = None
        self._now = 0.0
        self.update()

    def set_threshold(self, threshold: float | None) -> None:
        self.threshold = threshold
        self.update()

    def add_result(self, result: WindowResult) -> None:
        self.class_names = tuple(result.class_names)
        self._points.append((result.t_end, np.asarray(result.probs, dtype=np.float32), float(result.spot_score),
                             bool(result.is_candidate)))
        self._note_state(result)
        self._advance(result.t_end)

    def add_event(self, event: MicroExpressionEvent) -> None:
        self._events.append(event)
        self._advance(event.end)

    def point_count(self) -> int:
        return len(self._points)

    def unwatched_spans(self) -> list[tuple[float, float, str]]:
        """The shaded stretches still held: (start, end, spotter state), oldest first."""
        return [(t0, t1, state) for t0, t1, state in self._unwatched]

    def _note_state(self, result: WindowResult) -> None:
        """A result's state holds from the previous result's end to its own end; after a gap longer than a
        window (no face, say) from its own start."""
        state, end, last = getattr(result, "spot_state", ""), float(result.t_end), self._last_end
        self._last_end = end if last is None else max(last, end)
        if state not in NOT_WATCHING or (last is not None and end <= last):
            return
        start = last if last is not None and result.t_start - last <= end - result.t_start else float(result.t_start)
        if self._unwatched and self._unwatched[-1][2] == state and self._unwatched[-1][1] >= start:
            self._unwatched[-1][1] = end
        else:
            self._unwatched.append([start, end, state])

    def _advance(self, t: float) -> None:
        self._now = max(self._now, t)
        oldest = self._now - self.span_s - 1.0
        while self._points and self._points[0][0] < oldest:
            self._points.popleft()
        while self._events and self._events[0].end < oldest:
            self._events.popleft()
        while self._unwatched and self._unwatched[0][1] < oldest:
            self._unwatched.popleft()
        self.update()

    # painting ------------------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(BACKGROUND))
        left, right, top, bottom = 46.0, 12.0, 38.0, 22.0
        plot_w = max(10.0, self.width() - left - right)
        plot_h = max(20.0, self.height() - top - bottom)
        prob_rect = QRectF(left, top, plot_w, plot_h * 0.6)
        spot_rect = QRectF(left, top + plot_h * 0.6 + 10, plot_w, plot_h * 0.4 - 10)
        t1 = max(self._now, self.span_s)
        t0 = t1 - self.span_s

        spot_max = self._spot_axis_max()

        def x_of(t: float) -> float:
            return left + (t - t0) / self.span_s * plot_w

        def y_of_score(score: float) -> float:
            return spot_rect.bottom() - min(score / spot_max, 1.0) * spot_rect.height()

        font = QFont(self.font().family(), 8)
        painter.setFont(font)
        self._draw_frame(painter, prob_rect, "probability", ("1", "0"))
        self._draw_frame(painter, spot_rect, "spotting", (f"{spot_max:.1f}", "0"))
        # time ticks every second
        painter.setPen(QPen(QColor(GRID), 1, Qt.PenStyle.DotLine))
        for tick in range(int(np.ceil(t0)), int(t1) + 1):
            x = x_of(tick)
            painter.drawLine(QPointF(x, prob_rect.top()), QPointF(x, spot_rect.bottom()))
            painter.setPen(QColor(TEXT))
            painter.drawText(QRectF(x - 20, spot_rect.bottom() + 2, 40, 16), Qt.AlignmentFlag.AlignCenter,
                             f"{tick}s")
            painter.setPen(QPen(QColor(GRID), 1, Qt.PenStyle.DotLine))
        self._draw_unwatched(painter, x_of, left, plot_w, prob_rect.top(), spot_rect.bottom())
        # events: shaded spans with their label; micro-expressions yellow, macro-expressions blue
        for event in self._events:
            xa, xb = max(x_of(event.start), left), min(x_of(event.end), left + plot_w)
            if xb <= xa:
                continue
            macro = getattr(event, "kind", "micro") == "macro"
            painter.fillRect(QRectF(xa, prob_rect.top(), max(xb - xa, 2.0), spot_rect.bottom() - prob_rect.top()),
                             QColor(100, 181, 246, 40) if macro else QColor(255, 235, 59, 45))
            painter.setPen(QColor("#64b5f6" if macro else "#ffeb3b"))
            text = "macro" if macro else (f"micro {event.label} {event.confidence:.2f}" if event.label else "micro")
            painter.drawText(QRectF(xa, 19, 200, 16), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             text)
        points = [p for p in self._points if p[0] >= t0 - 0.5]
        if not points:
            painter.setPen(QColor("#8a8a8a"))
            painter.drawText(prob_rect, Qt.AlignmentFlag.AlignCenter, "timeline appears once windows are classified")
            return
        painter.save()
        painter.setClipRect(QRectF(left, top, plot_w, plot_h + 2))
        for k in range(len(self.class_names)):
            path = QPainterPath()
            for j, (t, probs, _, _) in enumerate(points):
                y = prob_rect.bottom() - float(probs[k] if k < probs.size else 0.0) * prob_rect.height()
                (path.moveTo if j == 0 else path.lineTo)(QPointF(x_of(t), y))
            painter.setPen(QPen(class_color(k), 1.8))
            painter.drawPath(path)
        spot_path = QPainterPath()
        for j, (t, _, score, _) in enumerate(points):
            (spot_path.moveTo if j == 0 else spot_path.lineTo)(QPointF(x_of(t), y_of_score(score)))
        painter.setPen(QPen(QColor(SPOT_COLOR), 1.5))
        painter.drawPath(spot_path)
        for t, _, score, candidate in points:
            if candidate:
                painter.setBrush(QColor("#ffeb3b"))
                painter.setPen(Qt.PenStyle.NoPen)
                painter.drawEllipse(QPointF(x_of(t), y_of_score(score)), 2.5, 2.5)
        if self.threshold is not None:
            y = y_of_score(self.threshold)
            painter.setPen(QPen(QColor("#ff7043"), 1, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(left, y), QPointF(left + plot_w, y))
        painter.restore()
        self._draw_legend(painter, left, plot_w)

    def _draw_unwatched(self, painter: QPainter, x_of, left: float, plot_w: float, top: float,
                        bottom: float) -> None:
        """Grey hatched bands where the spotter was not watching, named at the foot of the spotting plot."""
        for t0, t1, state in self._unwatched:
            xa, xb = max(x_of(t0), left), min(x_of(t1), left + plot_w)
            if xb <= xa:
                continue
            band = QRectF(xa, top, max(xb - xa, 2.0), bottom - top)
            paused = state.startswith("paused")
            painter.fillRect(band, UNWATCHED_FILL["paused" if paused else "settling"])
            painter.fillRect(band, QBrush(UNWATCHED_HATCH, Qt.BrushStyle.BDiagPattern if paused
                                          else Qt.BrushStyle.Dense7Pattern))
            if xb - xa > 40:
                painter.setPen(QColor(TEXT))
                painter.drawText(QRectF(xa + 3, bottom - 16, xb - xa - 6, 14),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                 "paused" if paused else "settling")

    def _spot_axis_max(self) -> float:
        scores = [p[2] for p in self._points]
        floor = 2.0 * self.threshold if self.threshold else 1.0
        return max([floor, *scores]) * 1.05 if scores else floor

    def _draw_frame(self, painter: QPainter, rect: QRectF, name: str, labels: tuple[str, str]) -> None:
        painter.setPen(QPen(QColor(GRID), 1))
        painter.drawRect(rect)
        painter.setPen(QColor(TEXT))
        painter.drawText(QRectF(0, rect.top() - 2, rect.left() - 4, 14), Qt.AlignmentFlag.AlignRight, labels[0])
        painter.drawText(QRectF(0, rect.bottom() - 12, rect.left() - 4, 14), Qt.AlignmentFlag.AlignRight, labels[1])
        painter.save()
        painter.translate(10, rect.center().y())
        painter.rotate(-90)
        painter.drawText(QRectF(-rect.height() / 2, -8, rect.height(), 14), Qt.AlignmentFlag.AlignCenter, name)
        painter.restore()

    def _draw_legend(self, painter: QPainter, left: float, plot_w: float) -> None:
        names = [*self.class_names, "spotting score"] + (["not watching"] if self._unwatched else [])
        colors = ([class_color(i) for i in range(len(self.class_names))] + [QColor(SPOT_COLOR)]
                  + ([UNWATCHED_HATCH] if self._unwatched else []))
        x = left + plot_w
        metrics = painter.fontMetrics()
        for name, color in reversed(list(zip(names, colors))):
            width = metrics.horizontalAdvance(name) + 22
            x -= width
            painter.fillRect(QRectF(x, 8, 12, 4), color)
            painter.setPen(QColor(TEXT))
            painter.drawText(QRectF(x + 15, 2, width, 16), Qt.AlignmentFlag.AlignVCenter, name)
