"""On-disk checks shared by the readers: required folders."""
from __future__ import annotations

from pathlib import Path

from mer_live.datasets.records import DatasetError


def require_dir(path: Path, what: str, fix: str) -> Path:
    if not path.is_dir():
        raise DatasetError(f"{what} not found: {path}. {fix}")
    return path
