"""Table of spotted expressions (micro and macro), newest first."""
from __future__ import annotations

from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from gui.widgets.palette import class_color
from mer_live.streaming.events import MicroExpressionEvent


class EventList(QTableWidget):
    """One row per event: when it happened (source clock), class, confidence, duration, type (micro/macro)."""

    HEADERS = ("time (s)", "class", "conf.", "dur. (ms)", "type")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(self.HEADERS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.setToolTip("time: start of the event on the source's clock; conf.: the class probability of the "
                        "clip centred on it; dur.: event length; type: micro (at most 0.5 s, classified) or "
                        "macro (longer, not classified)")
        self.setAlternatingRowColors(True)
        self.class_names: tuple[str, ...] = ()
        self.events: list[MicroExpressionEvent] = []

    def set_classes(self, class_names: tuple[str, ...] | list[str]) -> None:
        self.class_names = tuple(class_names)

    def add_event(self, event: MicroExpressionEvent) -> None:
        self.events.append(event)
        self.insertRow(0)
        kind = getattr(event, "kind", "micro")
        cells = (f"{event.start:.2f}", event.label or "–", f"{event.confidence:.2f}" if event.label else "–",
                 f"{(event.end - event.start) * 1000:.0f}", kind)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if column == 1 and event.label in self.class_names:
                item.setForeground(QBrush(class_color(self.class_names.index(event.label))))
            self.setItem(0, column, item)

    def clear_events(self) -> None:
        self.events.clear()
        self.setRowCount(0)
