"""A long video's frame files on disk: listed in time order with their numbers, checked once."""
from __future__ import annotations

from pathlib import Path

from mer_live.datasets.records import DatasetError
from mer_live.frames import frame_files, frame_number


def video_frames(folder: Path, ext: str, video_id: str,
                 listed_in: str | None) -> tuple[tuple[Path, ...], tuple[int, ...]]:
    """(frame paths, frame numbers) in time order; DatasetError when a listed video has no frames or two
    frames share a number (img01.jpg and img001.jpg)."""
    what = f"video {video_id}" + (f" is listed in {listed_in}, but its" if listed_in else ":")
    if not folder.is_dir():
        raise DatasetError(f"{what} frame folder {folder} does not exist; restore the video's frames there")
    frames = tuple(frame_files(folder, ext))
    if not frames:
        raise DatasetError(f"{what} folder {folder} holds no .{ext} frames; restore them")
    numbers = tuple(frame_number(p) for p in frames)
    for a, b, path in zip(numbers, numbers[1:], frames[1:]):
        if a == b:
            raise DatasetError(f"video {video_id}: two frames in {folder} have the number {a} (one is {path.name}); "
                               f"remove the duplicate")
    return frames, numbers


def child_dir(parent: Path, name: str) -> Path | None:
    """parent/name, matched case-insensitively when the exact name is absent (CAS(ME)^3 writes spNO.1 in
    its sheet and spNo.1 on some disks); None when there is none."""
    exact = parent / name
    if exact.is_dir():
        return exact
    if not parent.is_dir():
        return None
    matches = [p for p in parent.iterdir() if p.is_dir() and p.name.lower() == name.lower()]
    return matches[0] if len(matches) == 1 else None


def has_frames(folder: Path, ext: str) -> bool:
    """Whether an (unlisted) video folder holds any frame: an empty one is left out, not an error."""
    return folder.is_dir() and bool(frame_files(folder, ext))
