"""Carries engine callbacks from engine threads to the UI thread as Qt signals.

The engine calls an `EngineListener` from its own threads; Qt widgets may only be touched from the UI
thread. The bridge is that listener: every callback becomes a signal that the window connects with a
queued connection, so the engine never waits on painting and the UI never waits on inference.
Frames are coalesced: only the newest one is kept, and a new `frame_ready` is emitted only after the UI
took the previous one, so a slow display drops old frames instead of queueing them without bound.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from mer_live.streaming.events import FrameInfo, MicroExpressionEvent, StatusMessage, WindowResult


class EngineBridge(QObject):
    """An `EngineListener` that re-emits each callback as a Qt signal (safe to call from any thread)."""

    frame_ready = Signal()            # a new frame waits in take_frame()
    result_ready = Signal(object)     # WindowResult
    event_ready = Signal(object)      # MicroExpressionEvent
    status_ready = Signal(object)     # StatusMessage
    finished = Signal()
    built = Signal(object)            # the engine, built on a helper thread (see RunController.start)
    build_failed = Signal(str)        # why it could not be built

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._latest_frame: FrameInfo | None = None
        self._frame_signal_pending = False
        self.frames_received = 0
        self.frames_coalesced = 0     # replaced by a newer frame before the UI took them

    # EngineListener, called from engine threads -------------------------------------------------
    def on_frame(self, info: FrameInfo) -> None:
        with self._lock:
            self.frames_received += 1
            if self._latest_frame is not None:
                self.frames_coalesced += 1
            self._latest_frame = info
            if self._frame_signal_pending:
                return
            self._frame_signal_pending = True
        self.frame_ready.emit()

    def on_result(self, result: WindowResult) -> None:
        self.result_ready.emit(result)

    def on_event(self, event: MicroExpressionEvent) -> None:
        self.event_ready.emit(event)

    def on_status(self, message: StatusMessage) -> None:
        self.status_ready.emit(message)

    def on_finished(self) -> None:
        self.finished.emit()

    # UI thread -----------------------------------------------------------------------------------
    def take_frame(self) -> FrameInfo | None:
        """The newest frame not yet shown (None if none); re-arms the frame_ready signal."""
        with self._lock:
            info = self._latest_frame
            self._latest_frame = None
            self._frame_signal_pending = False
        return info
