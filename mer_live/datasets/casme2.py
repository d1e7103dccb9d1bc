"""CASME II reader: labels from `DATA/CASME2/CASME2-coding-20190701.xlsx`, frames from `Cropped/sub{NN}/{Filename}`."""
from __future__ import annotations

from pathlib import Path

from mer_live.datasets import catalog
from mer_live.datasets.files import require_dir
from mer_live.datasets.records import SheetClip
from mer_live.datasets.sheet import sheet_clips


def scan_casme2(data_path: Path) -> list[SheetClip]:
    data_path = Path(data_path)
    require_dir(data_path.joinpath(*catalog.CASME2_DIR), "CASME II folder",
                "DATA_PATH must hold CASME2/ with Cropped/ and CASME2-coding-20190701.xlsx")
    frames_root = require_dir(data_path.joinpath(*catalog.CASME2_FRAMES_DIR), "CASME II cropped frames folder",
                              "CASME II ships it as Cropped/sub{NN}/{Filename}/img*.jpg; put it there")
    return sheet_clips("CASME2", data_path.joinpath(*catalog.CASME2_SHEET), frames_root, catalog.CASME2_COLUMNS,
                       catalog.CASME2_EXT, fix="Copy CASME II's coding sheet there under that name.")
