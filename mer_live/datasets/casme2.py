"""CASME II reader: labels from `DATA/CASME2/CASME2-coding-20190701.xlsx` or `CASME2-coding-20140508.xlsx`
(each under its own name; the 2019 one when both are there), frames from `Cropped/sub{NN}/{Filename}`."""
from __future__ import annotations

from pathlib import Path

from mer_live.datasets import catalog
from mer_live.datasets.files import require_dir
from mer_live.datasets.records import DatasetError, SheetClip
from mer_live.datasets.sheet import sheet_clips


def coding_sheet(folder: Path, notes: list[str]) -> Path:
    """The CASME II coding sheet in `folder`: the first of catalog.CASME2_SHEETS present (a note names the
    others present, which are not read); DatasetError naming every accepted name when none is."""
    names = list(catalog.CASME2_SHEETS)
    present = [folder / name for name in names if (folder / name).is_file()]
    if not present:
        raise DatasetError(f"label sheet not found: {folder / names[0]} (or {', '.join(names[1:])} beside it). "
                           f"Copy CASME II's coding sheet there under its own name.")
    if len(present) > 1:
        notes.append(f"CASME2: {present[0].name} read; {', '.join(p.name for p in present[1:])} also present, not "
                     f"read (the sheets differ in sub24 EP07_01, EP07_04f and EP10_03: sadness in 2014, surprise "
                     f"in 2019)")
    return present[0]


def scan_casme2(data_path: Path, notes: list[str] | None = None) -> list[SheetClip]:
    data_path = Path(data_path)
    folder = require_dir(data_path.joinpath(*catalog.CASME2_DIR), "CASME II folder",
                         f"DATA_PATH must hold CASME2/ with Cropped/ and {' or '.join(catalog.CASME2_SHEETS)}")
    frames_root = require_dir(data_path.joinpath(*catalog.CASME2_FRAMES_DIR), "CASME II cropped frames folder",
                              "CASME II ships it as Cropped/sub{NN}/{Filename}/img*.jpg; put it there")
    sheet = coding_sheet(folder, notes if notes is not None else [])
    return sheet_clips("CASME2", sheet, frames_root, catalog.CASME2_COLUMNS, catalog.CASME2_EXT)
