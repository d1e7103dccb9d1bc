"""A long video's frames as the live engine's FrameSource: read in order, timestamped from frame numbers.

A frame's timestamp is (its number - the first number) / fps, so where CAS(ME)^3's numbering skips
frames the stream's clock skips the same time, and the engine's event times map back to the dataset's
frame numbers with `LongVideo.number_at`.
"""
from __future__ import annotations

import cv2
import numpy as np

from mer_live.spot_eval.records import LongVideo
from mer_live.streaming.sources import FrameSource, SourceError


class LongVideoSource(FrameSource):
    """The frames of one LongVideo; `realtime=False` (read as fast as the engine takes them)."""

    def __init__(self, video: LongVideo, realtime: bool = False):
        super().__init__(fps=video.fps, realtime=realtime)
        self.video = video
        self.name = f"{video.dataset} video {video.video_id}"
        self._times = video.times()
        self.unreadable: list[str] = []     # frames that could not be read (the engine skips them): reported

    def frame_count(self) -> int | None:
        return len(self.video.frames)

    def _timestamp(self) -> float:
        return float(self._times[self._index])

    def _read_rgb(self) -> np.ndarray | None:
        if self._index >= len(self.video.frames):
            return None
        path = self.video.frames[self._index]
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)      # SAMM's grey frames come back as 3 equal channels
        if bgr is None:
            self.unreadable.append(str(path))
            raise SourceError(f"cannot read frame {path}: the file is corrupt or not an image; replace it from "
                              f"the original dataset")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
