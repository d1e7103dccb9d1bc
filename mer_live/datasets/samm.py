"""SAMM reader: labels from `SAMM_CROP/SAMM_Micro_FACS_Codes_v2.xlsx` (13 rows above the header), frames from `SAMM_CROP/{NNN}/{Filename}`."""
from __future__ import annotations

from pathlib import Path

from mer_live.datasets import catalog
from mer_live.datasets.casme2 import subject_number
from mer_live.datasets.files import PREPARE_HINT, require_dir
from mer_live.datasets.records import SheetClip, canonical_emotion
from mer_live.datasets.sheet import cell_int, cell_text, read_sheet


def scan_samm(data_path: Path) -> list[SheetClip]:
    data_path = Path(data_path)
    frames_root = require_dir(data_path.joinpath(*catalog.SAMM_FRAMES_DIR), "SAMM crop folder",
                              f"DATA_PATH must hold SAMM/SAMM_CROP/ ({PREPARE_HINT}, e.g. --dir DATA/SAMM/SAMM "
                              "--ext jpg, which also copies the sheet)")
    sheet = data_path.joinpath(*catalog.SAMM_SHEET)
    cols = catalog.SAMM_COLUMNS
    rows = read_sheet(sheet, [cols["subject"], cols["filename"], cols["emotion"]],
                      preamble_rows=catalog.SAMM_SHEET_PREAMBLE_ROWS,
                      fix=f"Put SAMM's sheet there ({PREPARE_HINT} copies it from the raw SAMM folder).")
    known = catalog.CLASS_NAMES["SAMM"] + catalog.DROPPED_EMOTIONS["SAMM"]
    found = []
    for row in rows:
        subject = catalog.subject_id("SAMM", subject_number(row[cols["subject"]], sheet))
        clip_id = cell_text(row[cols["filename"]])
        found.append(SheetClip(
            dataset="SAMM", subject=subject, clip_id=clip_id,
            emotion=canonical_emotion(cell_text(row[cols["emotion"]]), known, catalog.EMOTION_ALIASES["SAMM"]),
            folder=frames_root / subject / clip_id, ext=catalog.SAMM_EXT, source=f"sheet {sheet}",
            onset=cell_int(row.get(cols["onset"])), apex=cell_int(row.get(cols["apex"])),
            offset=cell_int(row.get(cols["offset"]))))
    return found
