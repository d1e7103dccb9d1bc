"""Frame sources for the live engine: webcam, video file, folder of frames, frames in memory (the synthetic stream).

Every source yields `Frame(index, timestamp, rgb)` with a capture timestamp in seconds since the source
started: the real clock for cameras, `index / fps` for files, folders and the synthetic stream (so results
are reproducible and independent of how fast the machine is). `realtime=True` paces the non-camera sources
at their frame rate (the GUI); `realtime=False` reads as fast as possible (headless, tests).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from mer_live.frames import FrameReadError, frame_number

IMAGE_SUFFIXES = (".bmp", ".jpg", ".jpeg", ".png", ".tif", ".tiff")
DEFAULT_FILE_FPS = 30.0


class SourceError(RuntimeError):
    """A source cannot be opened or read; the message names the source and the fix."""


class TimestampError(ValueError):
    """A frame's timestamp is not later than the previous frame's: a source must keep time moving forward."""


@dataclass(frozen=True)
class Frame:
    index: int
    timestamp: float          # seconds since the source started
    rgb: np.ndarray           # (H, W, 3) RGB uint8


class FrameSource:
    """Base class: `open()`, then `read()` until it returns None (end of stream), then `close()`.

    `read()` raises `SourceError` when a read fails (camera unplugged, corrupt file); the engine decides
    whether to retry (`reopen()`) or give up. `live` sources (cameras) may recover by reopening.
    """

    name: str = "source"
    live: bool = False

    def __init__(self, fps: float, realtime: bool = False):
        self.fps = float(fps)
        self.realtime = realtime
        self._index = 0
        self._t0: float | None = None

    def open(self) -> None:
        self._index = 0
        self._t0 = None

    def reopen(self) -> None:
        """Try to re-open after a failed read (only meaningful for live sources)."""
        self.close()
        self.open()

    def close(self) -> None:
        pass

    def frame_count(self) -> int | None:
        """Frames in the whole source if known (progress bars); None for cameras."""
        return None

    def _read_rgb(self) -> np.ndarray | None:
        raise NotImplementedError

    def _timestamp(self) -> float:
        return self._index / self.fps

    def read(self) -> Frame | None:
        try:
            rgb = self._read_rgb()
        except SourceError:
            if not self.live:
                self._index += 1           # a bad frame in a file or folder is skipped, not retried forever
            raise
        if rgb is None:
            return None
        ts = self._timestamp()
        if self.realtime and not self.live:
            now = time.perf_counter()
            if self._t0 is None:
                self._t0 = now - ts
            wait = self._t0 + ts - now
            if wait > 0:
                time.sleep(wait)
        frame = Frame(self._index, ts, rgb)
        self._index += 1
        return frame

    def __iter__(self) -> Iterator[Frame]:
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame

    def __enter__(self) -> "FrameSource":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class CameraSource(FrameSource):
    """A webcam by index (cv2.VideoCapture); timestamps are the real clock."""

    live = True

    def __init__(self, index: int = 0, realtime: bool = True, width: int | None = None,
                 height: int | None = None):
        super().__init__(fps=DEFAULT_FILE_FPS, realtime=realtime)
        self.index = int(index)
        self.name = f"camera {self.index}"
        self.width, self.height = width, height
        self._cap: cv2.VideoCapture | None = None
        self._clock0: float | None = None

    def open(self) -> None:
        super().open()
        cap = _quietly_open(self.index)   # our own message below says what OpenCV's warnings would
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"cannot open {self.name}: no camera at index {self.index} (or it is busy in another "
                f"program). Plug in a webcam, pick another index with --source N, or try the demo: mer-live --demo")
        if self.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        if self.height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        fps = cap.get(cv2.CAP_PROP_FPS)
        if fps and 1 <= fps <= 1000:
            self.fps = float(fps)
        self._cap = cap
        if self._clock0 is None:           # keep the time axis across re-opens
            self._clock0 = time.perf_counter()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _timestamp(self) -> float:
        return self._last_clock - (self._clock0 or 0.0)

    def _read_rgb(self) -> np.ndarray | None:
        if self._cap is None:
            raise SourceError(f"{self.name} is not open; call open() first")
        ok, bgr = self._cap.read()
        self._last_clock = time.perf_counter()
        if not ok or bgr is None:
            raise SourceError(f"{self.name} stopped delivering frames (unplugged?). Reconnect it; "
                              f"the engine retries a few times before giving up")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class VideoFileSource(FrameSource):
    """A video file read with OpenCV; timestamps are frame index / the file's fps."""

    def __init__(self, path: str | Path, realtime: bool = False, fps: float | None = None):
        super().__init__(fps=fps or DEFAULT_FILE_FPS, realtime=realtime)
        self.path = Path(path)
        self.name = f"video {self.path}"
        self._fps_override = fps
        self._cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        super().open()
        if not self.path.is_file():
            raise SourceError(f"video file {self.path} does not exist; check the path given to --source")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open video {self.path}: OpenCV cannot decode it. Convert it to "
                              f"MP4 (H.264) or AVI, or give a folder of frames instead")
        file_fps = cap.get(cv2.CAP_PROP_FPS)
        if not self._fps_override and file_fps and 1 <= file_fps <= 1000:
            self.fps = float(file_fps)
        self._cap = cap

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def frame_count(self) -> int | None:
        cap = cv2.VideoCapture(str(self.path))
        try:
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
        finally:
            cap.release()
        return count if count > 0 else None

    def _read_rgb(self) -> np.ndarray | None:
        if self._cap is None:
            raise SourceError(f"{self.name} is not open; call open() first")
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            return None                    # end of file
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _frame_sort_key(path: Path) -> tuple:
    """The frame number in the file name orders frames (img46 before img100), name as tie-break; a name
    without a number sorts first."""
    try:
        number = frame_number(path)
    except FrameReadError:
        number = -1
    return (number, path.name)


def _image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) as cv2.imread will return the image (EXIF rotation applied), from its header; None when
    the header cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
            rotated = image.format == "JPEG" and image.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    except Exception:  # noqa: BLE001 - any unreadable file: its read says so (and the engine skips it)
        return None
    return (height, width) if rotated else (width, height)


class FolderSource(FrameSource):
    """A folder of frame images, ordered by the integer in the file name; timestamps are index / fps."""

    def __init__(self, path: str | Path, fps: float = DEFAULT_FILE_FPS, realtime: bool = False):
        super().__init__(fps=fps, realtime=realtime)
        self.path = Path(path)
        self.name = f"folder {self.path}"
        self._files: list[Path] = []
        self._sizes_checked = False

    def open(self) -> None:
        super().open()
        if not self.path.is_dir():
            raise SourceError(f"frame folder {self.path} does not exist; check the path given to --source")
        files = self._image_files()
        if not files:
            raise SourceError(f"frame folder {self.path} holds no images ({', '.join(IMAGE_SUFFIXES)}); "
                              f"point --source at the folder that holds the frames")
        self._files = sorted(files, key=_frame_sort_key)
        if not self._sizes_checked:
            self.check_frame_sizes()

    def check_frame_sizes(self) -> None:
        """Refuse a folder whose frames differ in size, naming the first that differs: the engine stacks
        frames into windows, and mixed sizes failed there as a cv2.error traceback. Reads headers only."""
        if not self.path.is_dir():
            return
        first: tuple[str, tuple[int, int]] | None = None
        for path in sorted(self._image_files(), key=_frame_sort_key):
            size = _image_size(path)
            if size is None:                 # unreadable: reported (and skipped) when it is read
                continue
            if first is None:
                first = (path.name, size)
            elif size != first[1]:
                raise SourceError(f"frame folder {self.path}: frame {path.name} is {size[0]}x{size[1]} pixels but "
                                  f"{first[0]} and the frames before it are {first[1][0]}x{first[1][1]}; every "
                                  "frame of a folder must have the same size: resize or remove the frames that "
                                  "differ")
        self._sizes_checked = True

    def frame_count(self) -> int | None:
        if not self.path.is_dir():
            return None
        return len(self._image_files())

    def _image_files(self) -> list[Path]:
        return [p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]

    def _read_rgb(self) -> np.ndarray | None:
        if self._index >= len(self._files):
            return None
        path = self._files[self._index]
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise SourceError(f"cannot read frame {path}: the file is corrupt or not an image; "
                              f"delete or replace it")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class ArraySource(FrameSource):
    """Frames already in memory (T, H, W, 3) RGB uint8: the synthetic stream and tests."""

    def __init__(self, frames: np.ndarray, fps: float, realtime: bool = False, name: str = "frames",
                 fail_at: int | None = None):
        super().__init__(fps=fps, realtime=realtime)
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise SourceError(f"{name}: expected (T, H, W, 3) RGB uint8 frames, got {frames.shape} {frames.dtype}")
        self.frames = frames
        self.name = name
        self.fail_at = fail_at     # tests: raise a read failure at this index (once)

    def frame_count(self) -> int | None:
        return len(self.frames)

    def _read_rgb(self) -> np.ndarray | None:
        if self.fail_at is not None and self._index == self.fail_at:
            self.fail_at = None
            raise SourceError(f"{self.name}: read failed at frame {self._index} (simulated)")
        if self._index >= len(self.frames):
            return None
        return self.frames[self._index]


def _quietly_open(index: int) -> cv2.VideoCapture:
    """cv2.VideoCapture(index) without OpenCV's backend warnings (a missing camera is reported by us)."""
    logging_api = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_api is None:
        return cv2.VideoCapture(index)
    previous = logging_api.getLogLevel()
    logging_api.setLogLevel(logging_api.LOG_LEVEL_ERROR)
    try:
        return cv2.VideoCapture(index)
    finally:
        logging_api.setLogLevel(previous)
