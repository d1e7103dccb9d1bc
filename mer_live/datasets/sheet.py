"""Reading the label sheets (.xlsx) with openpyxl into rows keyed by the header's column names."""
from __future__ import annotations

from pathlib import Path

from mer_live.datasets.records import DatasetError


def read_sheet(path: Path, required: list[str], preamble_rows: int = 0, fix: str = "") -> list[dict]:
    """Rows below the header (which sits after `preamble_rows` rows) as dicts; blank rows skipped.

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
    for row in rows[preamble_rows + 1:]:
        if row is None or all(v is None or str(v).strip() == "" for v in row):
            continue
        records.append({name: (row[i] if i < len(row) else None) for i, name in enumerate(header) if name})
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
