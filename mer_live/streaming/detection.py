"""When to run the face detector, decided by frame index and time alone, so a threaded live run and an
offline `run()` over the same file detect on the same frames and apply each result on the same frame.

MTCNN costs tens of milliseconds a frame on a CPU, more than anything else per frame. The tracker holds a
still box (mer_live.streaming.face_tracker), so while a face is held the detector only has to check now and
then that it is still there and has not moved: every `hold_interval_s`. It looks more often
(`search_interval_s`) while there is no face and while the tracker is confirming a move or a miss, and at
once when the spotter measured the head travel a tenth of the crop since the last look. Or, as mer-live
first did, every `every_frames`-th frame (and every frame while no face is held).

A detection of frame i is applied when frame i + `lag_frames` arrives, live and offline alike: the live
app's capture goes on while the detector works on its own thread, and waits only for a result that is
later than that.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class DetectionConfig:
    hold_interval_s: float = 1.0      # a face is held: check it this often
    search_interval_s: float = 0.2    # no face, a move or a miss to confirm, or the head travelled: this often
    every_frames: int | None = None   # instead: every k-th frame, and every frame while no face is held
    lag_frames: int | None = 6        # a detection of frame i is applied on frame i + lag_frames; None: at once
                                      # offline, as it comes live (mer-live's first way; not deterministic)
    max_side: int | None = 320        # frames are shrunk to this longer side for the detector (None: as is)
    min_face_px: int = 32             # smallest face MTCNN looks for, in pixels of that shrunk frame (a tenth
                                      # of its longer side): fewer pyramid levels, faster
    torch_threads: int | None = 1     # CPU threads of the engine's own MTCNN (a process-wide torch setting);
                                      # one: its small convolutions gain little from more, and on busy cores
                                      # two threads were several times slower than one. None: torch's default

    def __post_init__(self) -> None:
        if self.hold_interval_s <= 0 or self.search_interval_s <= 0:
            raise ValueError("detection intervals must be > 0 seconds")
        if self.every_frames is not None and self.every_frames < 1:
            raise ValueError(f"detect every k-th frame needs k >= 1, got {self.every_frames}")
        if self.lag_frames is not None and self.lag_frames < 0:
            raise ValueError(f"detection lag must be >= 0 frames, got {self.lag_frames}")
        if self.torch_threads is not None and self.torch_threads < 1:
            raise ValueError(f"detector threads must be >= 1, got {self.torch_threads}")
        if self.min_face_px < 12:
            raise ValueError(f"MTCNN's smallest face is 12 pixels, got {self.min_face_px}")
        if self.max_side is not None and self.max_side < 64:
            raise ValueError(f"the detector's frame side must be >= 64 pixels, got {self.max_side}")


@dataclass(frozen=True)
class Detection:
    """A face found by the detector, in full-frame pixels."""

    box: np.ndarray                 # (x1, y1, x2, y2)
    landmarks: np.ndarray | None    # (5, 2): eyes, nose, mouth corners; None from a detector without them


def detect_face(detector, rgb: np.ndarray, max_side: int | None) -> Detection | None:
    """`detector.detect` on the frame shrunk to `max_side` (its longer side), in full-frame pixels."""
    scale = 1.0
    if max_side is not None and max(rgb.shape[:2]) > max_side:
        scale = max_side / max(rgb.shape[:2])
        rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    face = detector.detect(rgb)
    if face is None:
        return None
    landmarks = getattr(face, "landmarks", None)
    return Detection(box=np.asarray(face.box, np.float64) / scale,
                     landmarks=None if landmarks is None else np.asarray(landmarks, np.float64) / scale)


def load_detector(config: DetectionConfig | None = None):
    """MTCNN (mer_live.face.FaceDetector) looking for faces of `config.min_face_px` and more, with torch's
    CPU threads set to `config.torch_threads` (process-wide: torch has one setting)."""
    from mer_live.face import FaceDetector

    config = config or DetectionConfig()
    if config.torch_threads is not None:
        import torch

        torch.set_num_threads(config.torch_threads)
    return FaceDetector(min_face_size=config.min_face_px)


class DetectionSchedule:
    """`due(index, t, holding, unsure)` -> whether to detect on this frame; deterministic."""

    def __init__(self, config: DetectionConfig | None = None):
        self.config = config or DetectionConfig()
        self._last_index: int | None = None
        self._last_t: float | None = None

    def reset(self) -> None:
        self._last_index = self._last_t = None

    def due(self, index: int, t: float, holding: bool, unsure: bool = False) -> bool:
        """`holding`: the tracker holds a box; `unsure`: a move/miss to confirm or the head moving."""
        cfg = self.config
        if self._last_index is None:
            due = True
        elif cfg.every_frames is not None:
            due = not holding or index - self._last_index >= cfg.every_frames
        else:
            interval = cfg.hold_interval_s if holding and not unsure else cfg.search_interval_s
            due = t - self._last_t >= interval - 1e-9
        if due:
            self._last_index, self._last_t = index, t
        return due
