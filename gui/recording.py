"""The window's CSV recording: opened when a run starts (or when ticked during one), one row per window and
event, closed when the run ends; a failed write closes it and says why instead of losing rows silently.

The file format (and never overwriting an earlier recording) is `gui.recorder.CsvRecorder`'s.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from gui.recorder import CsvRecorder
from mer_live.streaming.events import MicroExpressionEvent, WindowResult


def default_recording_path() -> Path:
    return Path.cwd() / f"mer-live-{datetime.now():%Y%m%d-%H%M%S}.csv"


class Recording:
    """At most one open CsvRecorder; `last` is the latest closed one (the file the status bar named)."""

    def __init__(self) -> None:
        self.recorder: CsvRecorder | None = None
        self.last: CsvRecorder | None = None

    @property
    def active(self) -> bool:
        return self.recorder is not None

    def open(self, path: str | Path) -> str:
        """Start recording to `path` (a numbered name if it exists); returns a note for the status bar
        when another name was used, else "".

        Raises:
            OSError: the file cannot be created.
        """
        self.recorder = CsvRecorder(path)
        if self.recorder.path != Path(path):
            return f"{path} exists; recording to {self.recorder.path} instead"
        return ""

    def close(self) -> str:
        """Close the CSV (if recording); returns what was saved, for the status bar ("" if nothing was open)."""
        if self.recorder is None:
            return ""
        recorder, self.recorder = self.recorder, None
        recorder.close()
        self.last = recorder
        return f"Saved {recorder.rows['window']} windows and {recorder.rows['event']} events to {recorder.path}"

    def write_result(self, result: WindowResult) -> str:
        """Record one classified window; see `_write` for what is returned."""
        return self._write(self.recorder.write_result, result) if self.recorder is not None else ""

    def write_event(self, event: MicroExpressionEvent) -> str:
        """Record one spotted event; see `_write` for what is returned."""
        return self._write(self.recorder.write_event, event) if self.recorder is not None else ""

    def _write(self, write, item) -> str:
        """On a write error the recording is closed and the reason returned, for the window to show;
        "" when all went well."""
        try:
            write(item)
        except (OSError, ValueError) as exc:
            self.close()
            return f"Recording stopped: {exc}"
        return ""
