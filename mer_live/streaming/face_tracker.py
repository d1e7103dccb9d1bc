"""A face crop box that stays still unless the face really moved.

A micro-expression moves the face by a pixel or two; a detector's box jitters by about as much from frame
to frame. Cropping each frame with a fresh box would turn that jitter into flow larger than the expression
(the original code crops every clip with the box of its first frame for the same reason). So the tracker holds one
box and re-anchors it only when:

- the face moved: the detected box's centre moved more than `move_fraction` (15 %) of the anchored box's
  side, or its IoU with the anchored detection fell below `min_iou` (0.6), on `confirm_checks` (3)
  consecutive detections (one wild detection does not move the box); or
- the face was lost: `lost_after` (3) consecutive detections found no face; the box is dropped and the next
  detection anchors a new one.

Detection runs only now and then (MTCNN costs tens of milliseconds a frame on a CPU); the engine
schedules it (mer_live.streaming.detection) and looks more often while the tracker is `unsure`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class TrackerConfig:
    move_fraction: float = 0.15     # centre shift, as a fraction of the box side, that counts as a move
    min_iou: float = 0.6            # IoU with the anchored detection below which the face counts as moved
    confirm_checks: int = 3         # consecutive "moved" detections needed to re-anchor
    lost_after: int = 3             # consecutive detections without a face before the box is dropped
    margin: float = 0.2             # passed to mer_live.face.square_box


@dataclass(frozen=True)
class TrackUpdate:
    box: Box | None          # the crop box to use now
    reanchored: bool         # the box changed (new face or the face moved): reset what depends on it
    lost: bool               # the face was just declared lost


def box_iou(a, b) -> float:
    ax1, ay1, ax2, ay2 = (float(v) for v in a)
    bx1, by1, bx2, by2 = (float(v) for v in b)
    iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
    ih = max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = iw * ih
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union if union > 0 else 0.0


def _default_square_box(box, frame_shape, margin) -> Box:
    from mer_live.face import square_box

    return tuple(int(v) for v in square_box(box, frame_shape, margin))


class FaceTracker:
    """Holds the crop box; feed it each detection result (a Face or None) with `update`."""

    def __init__(self, config: TrackerConfig | None = None,
                 square_box: Callable[..., Box] | None = None):
        self.config = config or TrackerConfig()
        self._square_box = square_box or _default_square_box
        self.box: Box | None = None
        self.anchor_detection: np.ndarray | None = None   # raw detector box the crop box came from
        self._moved_checks = 0
        self._misses = 0
        self.reanchors = 0

    def reset(self) -> None:
        self.box = None
        self.anchor_detection = None
        self._moved_checks = 0
        self._misses = 0

    @property
    def unsure(self) -> bool:
        """A move or a miss is being confirmed: the next detections decide whether the box changes."""
        return self._moved_checks > 0 or self._misses > 0

    def moved(self, detected_box) -> bool:
        """Whether a detection is far enough from the anchored one to count as a real move."""
        anchor = self.anchor_detection
        side = max(anchor[2] - anchor[0], anchor[3] - anchor[1], 1.0)
        det = np.asarray(detected_box, dtype=np.float64)
        shift = np.hypot((det[0] + det[2] - anchor[0] - anchor[2]) / 2, (det[1] + det[3] - anchor[1] - anchor[3]) / 2)
        return shift > self.config.move_fraction * side or box_iou(det, anchor) < self.config.min_iou

    def update(self, face, frame_shape, hold: bool = False) -> TrackUpdate:
        """Apply one detection (an object with `.box`, or None when no face was found). `hold`: keep the
        box even when a move is confirmed (the spotter is measuring an expression in it); the first
        detection without `hold` that still finds the face moved re-anchors it."""
        if face is None:
            self._misses += 1
            self._moved_checks = 0
            if self.box is not None and self._misses >= self.config.lost_after:
                self.reset()
                return TrackUpdate(None, reanchored=False, lost=True)
            return TrackUpdate(self.box, reanchored=False, lost=False)
        self._misses = 0
        detected = np.asarray(face.box, dtype=np.float64)
        if self.box is None:
            return self._anchor(detected, frame_shape)
        if self.moved(detected):
            self._moved_checks += 1
            if self._moved_checks >= self.config.confirm_checks and not hold:
                return self._anchor(detected, frame_shape)
        else:
            self._moved_checks = 0
        return TrackUpdate(self.box, reanchored=False, lost=False)

    def _anchor(self, detected: np.ndarray, frame_shape) -> TrackUpdate:
        self.anchor_detection = detected
        self.box = self._square_box(detected, frame_shape[:2], self.config.margin)
        self._moved_checks = 0
        self.reanchors += 1
        return TrackUpdate(self.box, reanchored=True, lost=False)
