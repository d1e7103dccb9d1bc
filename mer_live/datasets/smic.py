"""SMIC (HS) reader: clips are folders `s12_ne_01` under `DATA/SMIC_CROP/HS/**/micro/**`; label from the name."""
from __future__ import annotations

import re
from pathlib import Path

from mer_live.datasets import catalog
from mer_live.datasets.catalog import PREPARE_HINT
from mer_live.datasets.files import require_dir
from mer_live.datasets.records import DatasetError, SheetClip, canonical_emotion

SAMPLE_NAME = re.compile(r"^s(\d+)_([A-Za-z]+)_(\d+)$")


def scan_smic(data_path: Path, notes: list[str] | None = None) -> list[SheetClip]:
    root = require_dir(Path(data_path).joinpath(*catalog.SMIC_FRAMES_DIR), "SMIC HS crop folder",
                       f"DATA_PATH must hold SMIC_CROP/HS/ ({PREPARE_HINT}, e.g. --dir DATA/SMIC --ext bmp)")
    known = catalog.CLASS_NAMES["SMIC"]
    found = []
    for folder in sorted(p for p in root.rglob("*") if p.is_dir()):
        match = SAMPLE_NAME.match(folder.name)
        if not match or "micro" not in folder.relative_to(root).parts[:-1]:
            continue
        code = canonical_emotion(match.group(2), known, catalog.EMOTION_ALIASES["SMIC"])
        found.append(SheetClip(dataset="SMIC", subject=catalog.subject_id("SMIC", int(match.group(1))),
                               clip_id=folder.name, emotion=code, folder=folder, ext=catalog.SMIC_EXT,
                               source=f"the SMIC tree {root}"))
    if not found:
        raise DatasetError(f"no SMIC sample folders (named like s1_ne_01 under .../micro/...) in {root}; "
                           f"check DATA_PATH or {PREPARE_HINT}")
    return found
