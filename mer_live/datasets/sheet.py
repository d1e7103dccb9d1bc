"""Reading the label sheets (.xlsx) with openpyxl into rows keyed by the header's column names."""
from __future__ import annotations

from pathlib import Path

import re

from mer_live.datasets import catalog
from mer_live.datasets.records import DatasetError, SheetClip, canonical_emotion


def read_sheet(path: Path, required: list[str], preamble_rows: int = 0, fix: str = "") -> list[tuple[int, dict]]:
    """Rows below the header (which sits after `preamble_rows` rows) as (row number as the spreadsheet shows
    it, dict of the row's cells by column name); blank rows skipped.

    Raises DatasetError naming the sheet when it is missing or unreadable, and naming the missing
    column together with the columns found.
    """
    import openpyxl

    if not path.is_file():
        raise DatasetError(f"label sheet not found: {path}. {fix}".strip())
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad file
        raise DatasetError(f"cannot read label sheet {path}: {exc}. Replace it with the dataset's "
                           "original .xlsx file") from exc
    try:
        rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()
    if len(rows) <= preamble_rows:
        raise DatasetError(f"label sheet {path} has {len(rows)} rows; its header row was expected "
                           f"after {preamble_rows} rows")
    header = [str(v).strip() if v is not None else "" for v in rows[preamble_rows]]
    missing = [name for name in required if name not in header]
    if missing:
        found = [h for h in header if h]
        where = f"row {preamble_rows + 1}" + (f" (after {preamble_rows} preamble rows)" if preamble_rows else "")
        raise DatasetError(f"label sheet {path} lacks column(s) {missing} in its header {where}; "
                           f"columns found: {found}")
    records = []
    for number, row in enumerate(rows[preamble_rows + 1:], start=preamble_rows + 2):
        if row is None or all(v is None or str(v).strip() == "" for v in row):
            continue
        records.append((number, {name: (row[i] if i < len(row) else None) for i, name in enumerate(header) if name}))
    return records


def cell_int(value) -> int | None:
    """A frame number cell as int; None for blanks and the '/' the sheets use for 'unknown'."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    try:
        return int(float(text))
    except ValueError:
        return None


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def subject_number(value, sheet: Path) -> int:
    """Sheet cells hold 1, "01" or "sub01"; all mean subject 1."""
    digits = re.findall(r"\d+", cell_text(value))
    if not digits:
        raise DatasetError(f"label sheet {sheet} has a row with Subject {value!r}, which holds no subject number")
    return int(digits[-1])


def sheet_clips(dataset: str, sheet: Path, frames_root: Path, cols: dict[str, str], ext: str,
                preamble_rows: int = 0, fix: str = "") -> list[SheetClip]:
    """One SheetClip per row of a coding sheet (CASME II, SAMM): frames in frames_root/<subject>/<Filename>."""
    rows = read_sheet(sheet, [cols["subject"], cols["filename"], cols["emotion"]], preamble_rows=preamble_rows, fix=fix)
    known = catalog.CLASS_NAMES[dataset] + catalog.DROPPED_EMOTIONS[dataset]
    found = []
    for number, row in rows:
        subject = catalog.subject_id(dataset, subject_number(row[cols["subject"]], sheet))
        clip_id = cell_text(row[cols["filename"]])
        found.append(SheetClip(
            dataset=dataset, subject=subject, clip_id=clip_id,
            emotion=canonical_emotion(cell_text(row[cols["emotion"]]), known, catalog.EMOTION_ALIASES[dataset]),
            folder=frames_root / subject / clip_id, ext=ext, source=f"sheet {sheet}", row=number,
            onset=cell_int(row.get(cols["onset"])), apex=cell_int(row.get(cols["apex"])),
            offset=cell_int(row.get(cols["offset"]))))
    return found
