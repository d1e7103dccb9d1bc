"""The status bar's spotter readout: how much of the face time the region spotter watched, and why not now.

A quiet timeline means little when the spotter was paused for head motion or settling after it; this label
says so beside the transient status messages (a permanent status-bar widget, never overwritten by them).
"""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

# what the user reads for each state that is not watching (mer_live.streaming.spotting.SPOTTER_STATES)
NOT_WATCHING = {"settling": "spotter settling: after a new face, box or pause",
                "paused-motion": "spotter paused: head moving fast",
                "paused-registration": "spotter paused: head motion it cannot undo"}


def watch_text(watch: dict | None, state: str = "") -> str:
    """One line from EngineStats.watch (face frames per state) and the latest state; "" when the engine's
    spotter reports none (the first spotter, or no face frame yet)."""
    total = sum((watch or {}).values())
    share = f"watching {(watch or {}).get('watching', 0) / total:.0%} of face time" if total else ""
    if state in NOT_WATCHING:
        return NOT_WATCHING[state] + (f" ({share} so far)" if share else "")
    return f"spotter: {share}" if share else ""


class WatchStatus(QLabel):
    """Keeps the latest state (from window results) and face-frame counts (from stats); shows watch_text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("watchStatus")
        self.setToolTip("share of the face frames on which the region spotter watched for expressions "
                        "(not paused for head motion, nor settling after it); events in the rest are missed")
        self.reset()

    def reset(self) -> None:
        self._watch: dict = {}
        self._state = ""
        self._show()

    def set_state(self, state: str) -> None:
        self._state = state or ""
        self._show()

    def set_watch(self, watch: dict | None) -> None:
        self._watch = dict(watch or {})
        self._show()

    def _show(self) -> None:
        text = watch_text(self._watch, self._state)
        self.setText(text)
        self.setStyleSheet("QLabel#watchStatus { color: #ffb74d; }" if self._state in NOT_WATCHING else "")
        self.setVisible(bool(text))
