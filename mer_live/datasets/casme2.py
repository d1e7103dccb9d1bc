"""CASME II reader: labels from `DATA/CASME2/CASME2-coding-20190701.xlsx`, frames from `Cropped/sub{NN}/{Filename}`."""
from __future__ import annotations

import re
from pathlib import Path

from mer_live.datasets import catalog
from mer_live.datasets.files import require_dir
from mer_live.datasets.records import DatasetError, SheetClip, canonical_emotion
from mer_live.datasets.sheet import cell_int, cell_text, read_sheet


def subject_number(value, sheet: Path) -> int:
    """Sheet cells hold 1, "01" or "sub01"; all mean subject 1."""
    digits = re.findall(r"\d+", cell_text(value))
    if not digits:
        raise DatasetError(f"label sheet {sheet} has a row with Subject {value!r}, which holds no subject number")
    return int(digits[-1])


def scan_casme2(data_path: Path) -> list[SheetClip]:
    data_path = Path(data_path)
    require_dir(data_path.joinpath(*catalog.CASME2_DIR), "CASME II folder",
                "DATA_PATH must hold CASME2/ with Cropped/ and CASME2-coding-20190701.xlsx")
    frames_root = require_dir(data_path.joinpath(*catalog.CASME2_FRAMES_DIR), "CASME II cropped frames folder",
                              "CASME II ships it as Cropped/sub{NN}/{Filename}/img*.jpg; put it there")
    sheet = data_path.joinpath(*catalog.CASME2_SHEET)
    cols = catalog.CASME2_COLUMNS
    rows = read_sheet(sheet, [cols["subject"], cols["filename"], cols["emotion"]],
                      fix="Copy CASME II's coding sheet there under that name.")
    known = catalog.CLASS_NAMES["CASME2"] + catalog.DROPPED_EMOTIONS["CASME2"]
    found = []
    for row in rows:
        subject = catalog.subject_id("CASME2", subject_number(row[cols["subject"]], sheet))
        clip_id = cell_text(row[cols["filename"]])
        found.append(SheetClip(
            dataset="CASME2", subject=subject, clip_id=clip_id,
            emotion=canonical_emotion(cell_text(row[cols["emotion"]]), known, catalog.EMOTION_ALIASES["CASME2"]),
            folder=frames_root / subject / clip_id, ext=catalog.CASME2_EXT, source=f"sheet {sheet}",
            onset=cell_int(row.get(cols["onset"])), apex=cell_int(row.get(cols["apex"])),
            offset=cell_int(row.get(cols["offset"]))))
    return found
