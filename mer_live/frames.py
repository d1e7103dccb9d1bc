"""Frame files: temporal order from the number in the file name, and reading with clear errors.

The original code sorted frame paths as strings, so `img100.jpg` came before `img46.jpg` and clips were
shuffled in time; here the order is the integer in the file name.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

_DIGITS = re.compile(r"(\d+)")


class FrameReadError(ValueError):
    """A frame file that cannot be read or decoded; the message names the file."""


def frame_number(path: str | os.PathLike) -> int:
    """The frame's number: the LAST integer in the file name's stem.

    The last one, because some names carry the subject first (SAMM `006_05562.jpg` is frame 5562).
    """
    stem = Path(path).stem
    runs = _DIGITS.findall(stem)
    if not runs:
        raise FrameReadError(f"frame file name has no frame number: {path} (expected e.g. img46.jpg)")
    return int(runs[-1])


def sorted_frames(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Paths in true temporal order (by `frame_number`, then by name for ties)."""
    return sorted((Path(p) for p in paths), key=lambda p: (frame_number(p), p.name))


def is_frame_file(path: Path, ext: str) -> bool:
    """A file named *.ext (extension case-insensitive, "jpg" or ".jpg") that is not hidden."""
    return path.is_file() and path.suffix.lower() == "." + ext.lower().lstrip(".") and not path.name.startswith(".")


def frame_files(folder: str | os.PathLike, ext: str) -> list[Path]:
    """A clip folder's *.ext frames (`is_frame_file`) in temporal order."""
    return sorted_frames(p for p in Path(folder).iterdir() if is_frame_file(p, ext))


def read_frame(path: str | os.PathLike) -> np.ndarray:
    """One frame as (H, W, 3) RGB uint8; `FrameReadError` naming the file when unreadable or corrupt."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise FrameReadError(f"cannot read frame {path}: {exc}") from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise FrameReadError(f"corrupt or unsupported frame file {path} ({data.size} bytes): {_frame_fix(path)}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _frame_fix(path: Path) -> str:
    """A crop made by mer-prepare (under a *_CROP folder) is remade from its raw frame; any other frame
    (a raw frame, or a dataset's own crops) can only be replaced from the dataset."""
    crop_tree = next((p for p in path.parents if p.name.endswith("_CROP")), None)
    if crop_tree is None:
        return "replace it with the original file from the dataset"
    return (f"it is a crop made by mer-prepare: delete its clip folder {path.parent} and re-run mer-prepare on "
            f"the raw dataset (the folder beside {crop_tree.name} without _CROP) to remake it")


def read_frames(paths: Sequence[str | os.PathLike]) -> np.ndarray:
    """Frames in the order given as (T, H, W, 3) RGB uint8; all must share one size."""
    if len(paths) == 0:
        raise FrameReadError("no frame paths given")
    frames = [read_frame(p) for p in paths]
    first = frames[0].shape
    for path, frame in zip(paths, frames):
        if frame.shape != first:
            raise FrameReadError(
                f"frame {path} is {frame.shape[1]}x{frame.shape[0]} but {paths[0]} is "
                f"{first[1]}x{first[0]}: a clip's frames must share one size (one crop box per clip)")
    return np.stack(frames)


def write_frame(path: str | os.PathLike, frame_rgb: np.ndarray) -> None:
    """Write an RGB uint8 frame atomically; the format follows the file's extension."""
    from mer_live.atomic import write_bytes_atomic

    path = Path(path)
    image = frame_rgb if frame_rgb.ndim == 2 else cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise ValueError(f"cannot encode a frame as {path.suffix!r} for {path}")
    write_bytes_atomic(path, encoded.tobytes())
