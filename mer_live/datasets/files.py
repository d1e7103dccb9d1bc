"""On-disk checks shared by the readers: required folders and a clip folder's frames in temporal order."""
from __future__ import annotations

from pathlib import Path

from mer_live.datasets.records import DatasetError
from mer_live.frames import sorted_frames

PREPARE_HINT = "run `mer-prepare --dir <raw dataset folder> --ext <ext>` to make the *_CROP tree"


def require_dir(path: Path, what: str, fix: str) -> Path:
    if not path.is_dir():
        raise DatasetError(f"{what} not found: {path}. {fix}")
    return path


def clip_frames(folder: Path, ext: str) -> tuple[Path, ...]:
    """The clip folder's *.ext frames (case-insensitive extension) sorted by frame number."""
    suffix = "." + ext.lower().lstrip(".")
    return tuple(sorted_frames(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == suffix
                               and not p.name.startswith(".")))
