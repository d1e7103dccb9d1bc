"""The command line's `--source` and `--fps`: the FrameSource a `--source` text opens, and the rate a folder
of frames is read at.

It sits above `sources` (the source classes) and `demo` (the demo stream, built on sources' ArraySource), so
imports run one way: source_argument -> demo -> sources.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from mer_live.streaming import demo
from mer_live.streaming.sources import (DEFAULT_FILE_FPS, CameraSource, FolderSource, FrameSource, SourceError,
                                        VideoFileSource)


def open_source(spec: str | int, realtime: bool = False, fps: float | None = None,
                synthetic_factory: Callable[[], FrameSource] | None = None) -> FrameSource:
    """Parse `--source`: a camera index, `synthetic` (the demo stream), a folder of frames or a video file."""
    text = str(spec).strip()
    if text.isdigit():
        return CameraSource(int(text), realtime=True)
    if text.lower() in ("synthetic", "demo"):
        if synthetic_factory is not None:
            return synthetic_factory()
        return demo.demo_source(realtime=realtime)
    path = Path(text).expanduser()
    if path.is_dir():
        folder = FolderSource(path, fps=fps or DEFAULT_FILE_FPS, realtime=realtime)
        folder.check_frame_sizes()       # refused here (status 2) rather than once the engine runs
        return folder
    if path.is_file():
        return VideoFileSource(path, realtime=realtime, fps=fps)
    raise SourceError(f"--source {text!r} is neither a camera index (0, 1, ...), 'synthetic', an existing "
                      f"folder of frames nor an existing video file; check the path")


def source_path(spec: str | int | None) -> Path | None:
    """The file or folder a `--source` reads (what no output may replace); None for a camera index or the
    synthetic stream, which are no file, and for a path that does not exist (open_source refuses it)."""
    if spec is None:
        return None
    text = str(spec).strip()
    if text.isdigit() or text.lower() in ("synthetic", "demo"):
        return None
    path = Path(text).expanduser()
    return path if path.exists() else None


def use_model_rate(source: FrameSource, spec, fps_given: float | None) -> str | None:
    """A folder of frames has no frame rate of its own: unless `fps_given` (--fps) names one, read it at the
    rate of the model's training data (`spec.fps`, from the model's metadata), since a wrong rate stretches or
    squeezes every motion in time. Returns the line that tells the user, or None when nothing was assumed."""
    if not isinstance(source, FolderSource) or fps_given:
        return None
    source.fps = float(spec.fps)
    trained_on = f" ({spec.dataset})" if getattr(spec, "dataset", "") else ""
    return (f"reading the folder of frames at {source.fps:g} fps, the frame rate of the model's training data"
            f"{trained_on}; give --fps if these frames were taken at another rate")
