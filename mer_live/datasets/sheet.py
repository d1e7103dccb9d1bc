"""Reading the label sheets (.xlsx) with openpyxl into rows keyed by the header's column names."""
from __future__ import annotations

from pathlib import Path

import re

from mer_live.datasets import catalog
from mer_live.datasets.files import is_folder_name
from mer_live.datasets.records import DatasetError, OutsideDatasetError, SheetClip, canonical_emotion


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
    return records_below_header(rows, preamble_rows, required, f"label sheet {path}", "preamble")


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


def is_blank_row(row) -> bool:
    return row is None or all(v is None or str(v).strip() == "" for v in row)


def records_below_header(rows: list[tuple], header_row: int, required: list[str], sheet: str, skipped: str,
                         header_cell=cell_text) -> list[tuple[int, dict]]:
    """(row number as the spreadsheet shows it, {column: cell}) for the non-blank rows below the header, which
    follows `header_row` rows of `skipped` (preamble, notes); header cells are read with `header_cell`.

    DatasetError names `sheet`, the header row and the columns found when a required column is missing.
    """
    if len(rows) <= header_row:
        raise DatasetError(f"{sheet} has {len(rows)} rows; its header row was expected after {header_row} "
                           f"{skipped} rows")
    header = [header_cell(v) for v in rows[header_row]]
    missing = [name for name in required if name not in header]
    if missing:
        where = f"row {header_row + 1}" + (f" (after {header_row} {skipped} rows)" if header_row else "")
        raise DatasetError(f"{sheet} lacks column(s) {missing} in its header {where}; columns found: "
                           f"{[h for h in header if h]}")
    return [(number, {name: (row[i] if i < len(row) else None) for i, name in enumerate(header) if name})
            for number, row in enumerate(rows[header_row + 1:], start=header_row + 2) if not is_blank_row(row)]


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
    outside = [(number, cell_text(row[cols["filename"]])) for number, row in rows
               if cell_text(row[cols["filename"]]) and not is_folder_name(cell_text(row[cols["filename"]]))]
    if outside:
        listed = ", ".join(f"row {number} {name!r}" for number, name in outside[:5])
        more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
        raise OutsideDatasetError(f"label sheet {sheet}: {cols['filename']} must be one clip folder's name inside "
                           f"{frames_root}/<subject>/, but {listed}{more} name a path that could lead outside the "
                           f"dataset; correct those cells (e.g. EP02_01f), nothing was read from them")
    found = []
    for number, row in rows:
        subject = catalog.subject_id(dataset, subject_number(row[cols["subject"]], sheet))
        clip_id = cell_text(row[cols["filename"]])
        found.append(SheetClip(
            dataset=dataset, subject=subject, clip_id=clip_id,
            emotion=canonical_emotion(cell_text(row[cols["emotion"]]), known, catalog.EMOTION_ALIASES[dataset]),
            folder=frames_root / subject / clip_id, ext=ext, source=f"sheet {sheet}", row=number, sheet=sheet,
            onset=cell_int(row.get(cols["onset"])), apex=cell_int(row.get(cols["apex"])),
            offset=cell_int(row.get(cols["offset"]))))
    return found
