"""SAMM reader: labels from `SAMM_CROP/SAMM_Micro_FACS_Codes_v2.xlsx` (13 rows above the header), frames from `SAMM_CROP/{NNN}/{Filename}`."""
from __future__ import annotations

from pathlib import Path

from mer_live.datasets import catalog
from mer_live.datasets.catalog import PREPARE_HINT
from mer_live.datasets.files import require_dir
from mer_live.datasets.records import SheetClip
from mer_live.datasets.sheet import sheet_clips


def scan_samm(data_path: Path, notes: list[str] | None = None) -> list[SheetClip]:
    data_path = Path(data_path)
    frames_root = require_dir(data_path.joinpath(*catalog.SAMM_FRAMES_DIR), "SAMM crop folder",
                              f"DATA_PATH must hold SAMM/SAMM_CROP/ ({PREPARE_HINT}, e.g. --dir DATA/SAMM/SAMM "
                              "--ext jpg, which also copies the sheet)")
    return sheet_clips("SAMM", data_path.joinpath(*catalog.SAMM_SHEET), frames_root, catalog.SAMM_COLUMNS,
                       catalog.SAMM_EXT, preamble_rows=catalog.SAMM_SHEET_PREAMBLE_ROWS,
                       fix=f"Put SAMM's sheet there ({PREPARE_HINT} copies it from the raw SAMM folder).")
