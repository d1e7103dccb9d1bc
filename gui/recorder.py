"""Records per-window predictions and spotted events to one CSV while the engine runs.

Each row is written and flushed as it arrives (a crash loses at most the row being written), the file
is fsynced on close, and an existing file is never overwritten: a numbered name is picked instead, so
an earlier recording cannot be lost by starting a new one.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import IO

from mer_live.streaming.events import MicroExpressionEvent, WindowResult

BASE_COLUMNS = ("kind", "window_index", "t_start", "t_end", "label", "confidence", "spot_score",
                "is_candidate", "latency_ms", "event_type")


def free_path(path: str | os.PathLike) -> Path:
    """`path` if nothing is there, else `stem-1.csv`, `stem-2.csv`, ... (the first free one)."""
    path = Path(path)
    candidate, number = path, 1
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
        number += 1
    return candidate


class CsvRecorder:
    """`kind` is `window` (one classified window, with one `p_<class>` column per class) or `event` (with
    `event_type` micro or macro)."""

    def __init__(self, path: str | os.PathLike, class_names: tuple[str, ...] | list[str] | None = None):
        self.requested_path = Path(path)
        self.path = free_path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = open(self.path, "x", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self.class_names: tuple[str, ...] | None = None
        self.rows = {"window": 0, "event": 0}
        if class_names:
            self._write_header(tuple(class_names))

    @property
    def closed(self) -> bool:
        return self._file is None

    def _write_header(self, class_names: tuple[str, ...]) -> None:
        self.class_names = class_names
        self._writer.writerow([*BASE_COLUMNS, *(f"p_{name}" for name in class_names)])

    def _write(self, row: list) -> None:
        if self._file is None:
            raise RuntimeError(f"recording {self.path} is already closed")
        self._writer.writerow(row)
        self._file.flush()

    def write_result(self, result: WindowResult) -> None:
        if self.class_names is None:
            self._write_header(tuple(result.class_names))
        elif tuple(result.class_names) != self.class_names:
            raise ValueError(f"window classes {result.class_names} differ from the recording's "
                             f"{self.class_names}; start a new recording for a different model")
        self._write(["window", result.window_index, f"{result.t_start:.4f}", f"{result.t_end:.4f}",
                     result.top_class, f"{result.confidence:.5f}", f"{result.spot_score:.5f}",
                     int(result.is_candidate), f"{result.latency_s * 1000:.2f}", "",
                     *(f"{float(p):.5f}" for p in result.probs)])
        self.rows["window"] += 1

    def write_event(self, event: MicroExpressionEvent) -> None:
        if self.class_names is None:
            self._write_header(())
        self._write(["event", "", f"{event.start:.4f}", f"{event.end:.4f}", event.label,
                     f"{event.confidence:.5f}", f"{event.peak_score:.5f}", 1, "", getattr(event, "kind", "micro"),
                     *([""] * len(self.class_names or ()))])
        self.rows["event"] += 1

    def close(self) -> None:
        if self._file is None:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
