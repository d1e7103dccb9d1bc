"""What a long-video reader returns: each video's frames, its annotated intervals, and the reader's notes.

Intervals are in the dataset's own frame numbers (the number in each frame's file name), inclusive at both
ends, as MEGC scores them. A video's time axis comes from its frame numbers: frame n is at
(n - first number) / fps seconds, so a gap in the numbering (CAS(ME)^3) is a gap in time, and a frame's
index in the folder is not its number.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np


@dataclasses.dataclass(frozen=True)
class Interval:
    """One annotated (or spotted) interval in frame numbers, onset <= offset, both inclusive."""

    onset: int
    offset: int
    kind: str                    # "micro" | "macro" (annotations and predictions), "blink" (CAS(ME)^3 sheet)
    apex: int | None = None
    where: str = ""              # the sheet row it came from, for messages
    filled: tuple[str, ...] = ()  # "onset" / "offset" when not coded and taken from the apex

    @property
    def frames(self) -> int:
        return self.offset - self.onset + 1


@dataclasses.dataclass(frozen=True)
class ReaderNote:
    """Something the reader fixed or left out, reported rather than hidden (one line of the report)."""

    category: str                # e.g. "offset 0: apex used", "unlabeled video", "video left out"
    text: str


@dataclasses.dataclass(frozen=True)
class LongVideo:
    """One long video: frame files in time order, their numbers, its annotations."""

    dataset: str
    video_id: str                # "s15/15_0101disgustingteeth", "006_1", "spNO.1/a"
    subject: str
    frames: tuple[Path, ...]
    numbers: tuple[int, ...]     # each frame's number, strictly increasing
    fps: float
    intervals: tuple[Interval, ...] = ()     # micro- and macro-expressions
    blinks: tuple[Interval, ...] = ()        # annotated blinks (CAS(ME)^3), not scored

    @property
    def first(self) -> int:
        return self.numbers[0]

    @property
    def last(self) -> int:
        return self.numbers[-1]

    @property
    def duration_s(self) -> float:
        """Seconds the video spans: from its first frame to the end of its last."""
        return (self.last - self.first + 1) / self.fps

    def times(self) -> np.ndarray:
        """Each frame's timestamp in seconds (what the engine sees)."""
        return (np.asarray(self.numbers, dtype=np.float64) - self.first) / self.fps

    def time_of(self, number: int) -> float:
        """The timestamp of frame `number` (also between existing frames, for gaps)."""
        return (number - self.first) / self.fps

    def number_at(self, t: float) -> int:
        """The number of the existing frame whose timestamp is nearest to `t` seconds."""
        times = self.times()
        i = int(np.searchsorted(times, t))
        if i <= 0:
            return self.numbers[0]
        if i >= len(times):
            return self.numbers[-1]
        return self.numbers[i] if times[i] - t < t - times[i - 1] else self.numbers[i - 1]


@dataclasses.dataclass
class SpotIndex:
    """All videos of one long-video dataset, and what the reader had to fix or leave out."""

    name: str
    videos: list[LongVideo]
    notes: list[ReaderNote] = dataclasses.field(default_factory=list)
    sheet: Path | None = None        # the annotation workbook read (named when it holds nothing to score)

    def counts(self) -> dict[str, int]:
        """Annotated intervals per kind, pooled over videos."""
        out = {"micro": 0, "macro": 0}
        for video in self.videos:
            for interval in video.intervals:
                out[interval.kind] = out.get(interval.kind, 0) + 1
        return out

    def summary(self) -> str:
        counts = self.counts()
        minutes = sum(v.duration_s for v in self.videos) / 60
        unlabeled = sum(1 for v in self.videos if not v.intervals)
        return (f"{self.name}: {len(self.videos)} videos ({minutes:.1f} min, {unlabeled} without annotations), "
                f"{counts['micro']} micro- and {counts['macro']} macro-expressions; {len(self.notes)} reader notes")
