"""Face detection (MTCNN from facenet-pytorch, weights shipped in its wheel) and the one-box-per-clip crop.

Two crops (`CROP_MODES`, `crop_box`):
- "square" (the project's): a square of side max(w, h) * (1 + margin) centred on the detector's box
  centre, shrunk to the frame's shorter side if larger, then shifted (not shrunk) to lie inside the frame;
  a face keeps its proportions when training resizes the crop to a square input.
- "original": the raw MTCNN rectangle as the original code's prepare.py cut it (`original_box`): not
  square, no margin, saved at its own size; training then stretches it to the input size, as the
  original's did. The paper's figures were made from such crops.
One box per clip, because a per-frame box jitters by more than a micro-expression moves.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

DEFAULT_MARGIN = 0.2
CROP_MODES = ("square", "original")
DEFAULT_CROP = "square"


@dataclasses.dataclass(frozen=True)
class Face:
    box: np.ndarray        # float32 (x1, y1, x2, y2) in frame pixels
    landmarks: np.ndarray  # float32 (5, 2): eyes (left, right), nose, mouth corners (left, right); x, y
    prob: float


class FaceDetector:
    """MTCNN that returns the largest face of a frame (or None)."""

    def __init__(self, device: str = "cpu", min_face_size: int = 20):
        from facenet_pytorch import MTCNN

        self.device = str(device)
        self.mtcnn = MTCNN(keep_all=False, device=self.device, min_face_size=min_face_size)

    def detect(self, frame_rgb: np.ndarray) -> Face | None:
        """The largest face of one RGB uint8 (H, W, 3) frame, or None."""
        frame = np.ascontiguousarray(frame_rgb)
        if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"face detection needs an RGB uint8 (H, W, 3) frame, got {frame.shape} {frame.dtype}")
        if min(frame.shape[:2]) < self.mtcnn.min_face_size:   # no face that small is looked for; MTCNN's image
            return None                                        # pyramid would be empty and torch.cat fail
        boxes, probs, points = self.mtcnn.detect(frame, landmarks=True)
        if boxes is None:
            return None
        # facenet-pytorch 2.5.3 under numpy 2 hands back object arrays; the largest face comes first.
        box = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)[0]
        point = np.asarray(points, dtype=np.float32).reshape(-1, 5, 2)[0]
        return Face(box=box, landmarks=point, prob=float(np.asarray(probs, dtype=np.float32).ravel()[0]))

    def detect_many(self, frames_rgb: Sequence[np.ndarray] | np.ndarray) -> list[Face | None]:
        """One result per frame. Frame by frame: MTCNN's batched mode was the slower of the two on CPU."""
        return [self.detect(frame) for frame in frames_rgb]


def square_box(box: Sequence[float], frame_shape: Sequence[int], margin: float = DEFAULT_MARGIN) -> tuple[int, int, int, int]:
    """The integer square crop box (x1, y1, x2, y2) for a detector box; pure and deterministic.

    side = round(max(w, h) * (1 + margin)), at most min(H, W); centred on the box centre, then
    shifted to lie inside the frame, so every crop of a clip has the same size.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    height, width = int(frame_shape[0]), int(frame_shape[1])
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f"face box must have x2 > x1 and y2 > y1, got {tuple(box)}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    side = min(int(round(max(x2 - x1, y2 - y1) * (1.0 + margin))), height, width)
    side = max(side, 1)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    left = int(np.floor(cx - side / 2.0 + 0.5))
    top = int(np.floor(cy - side / 2.0 + 0.5))
    left = min(max(left, 0), width - side)
    top = min(max(top, 0), height - side)
    return left, top, left + side, top + side


def original_box(box: Sequence[float], frame_shape: Sequence[int]) -> tuple[int, int, int, int]:
    """The original code's crop box (x1, y1, x2, y2): the detector's rectangle, each corner truncated by int().

    Its prepare.py sliced `img[int(y1):int(y2), int(x1):int(x2)]`; a corner outside the frame is clamped to
    it here (there a negative corner wrapped around to the far side of the image).
    """
    height, width = int(frame_shape[0]), int(frame_shape[1])
    x1, y1, x2, y2 = (int(float(v)) for v in box)
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f"face box {tuple(box)} leaves nothing of the {width}x{height} frame")
    return x1, y1, x2, y2


def crop_box(box: Sequence[float], frame_shape: Sequence[int], mode: str = DEFAULT_CROP,
             margin: float = DEFAULT_MARGIN) -> tuple[int, int, int, int]:
    """The integer crop box of a detector box for a crop mode in CROP_MODES (margin: "square" only)."""
    if mode == "square":
        return square_box(box, frame_shape, margin)
    if mode == "original":
        return original_box(box, frame_shape)
    raise ValueError(f"unknown crop {mode!r}; choose one of {', '.join(CROP_MODES)}")


def crop(frame: np.ndarray, box: Sequence[int]) -> np.ndarray:
    """The frame's pixels inside an integer box (x1, y1, x2, y2), as a contiguous copy."""
    x1, y1, x2, y2 = (int(v) for v in box)
    if not (0 <= x1 < x2 <= frame.shape[1] and 0 <= y1 < y2 <= frame.shape[0]):
        raise ValueError(f"crop box {tuple(box)} is not inside the {frame.shape[1]}x{frame.shape[0]} frame")
    return np.ascontiguousarray(frame[y1:y2, x1:x2])
