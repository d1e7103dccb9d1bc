"""On-disk checks shared by the readers: required folders, and sheet cells that must name one folder."""
from __future__ import annotations

import os
from pathlib import Path

from mer_live.datasets.records import DatasetError


def require_dir(path: Path, what: str, fix: str) -> Path:
    if not path.is_dir():
        raise DatasetError(f"{what} not found: {path}. {fix}")
    return path


def is_folder_name(text: str) -> bool:
    """True for one plain folder name. A sheet cell that names a clip folder must be one: with a separator,
    `..` or a leading `/` it could lead anywhere on the disk (`../../../../outside/secret`), and through a
    symlink even `link/../x` leaves the dataset while looking inside it on paper."""
    separators = {"/", "\\", os.sep, os.altsep} - {None}
    return text not in ("", ".", "..") and not any(sep in text for sep in separators) and "\0" not in text
