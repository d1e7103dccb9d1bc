"""On-disk checks shared by the readers: required folders, and the hint that names mer-prepare."""
from __future__ import annotations

from pathlib import Path

from mer_live.datasets.records import DatasetError

PREPARE_HINT = "run `mer-prepare --dir <raw dataset folder> --ext <ext>` to make the *_CROP tree"


def require_dir(path: Path, what: str, fix: str) -> Path:
    if not path.is_dir():
        raise DatasetError(f"{what} not found: {path}. {fix}")
    return path
