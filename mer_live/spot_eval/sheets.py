"""Reading the long-video annotation workbooks: named sheets, header rows, frame-number cells, types.

The three datasets write frame numbers as integers, as fractional numbers (SAMM: round them) and as text
(CAS(ME)^3); "not annotated" as a blank, "/", 0 (in 1-based datasets) or -1. `interval_from_cells` turns
one row's cells into an Interval by the MEGC loaders' rules, and says what it fixed.
"""
from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

from mer_live.datasets.records import DatasetError
from mer_live.datasets.sheet import cell_text as recognition_cell_text
from mer_live.datasets.sheet import is_blank_row, records_below_header
from mer_live.spot_eval import catalog
from mer_live.spot_eval.records import Interval, ReaderNote

_BLANKS = ("", "/", "-", "--", "nan", "none")

# How far down a sheet its header row is looked for (SAMM Long Videos has 9 note rows above it).
HEADER_SEARCH_ROWS = 30


@dataclasses.dataclass(frozen=True)
class Table:
    """A sheet found by its columns: where it is, how many rows sit above its header, and all its rows."""

    path: Path
    sheet: str
    header_row: int
    rows: tuple

    def describe(self) -> str:
        return f"sheet {self.sheet!r} of {self.path.name} (header on row {self.header_row + 1})"


@dataclasses.dataclass
class TableSearch:
    """What `find_tables` saw: the matching sheets, the workbooks it could not open, and the closest miss."""

    tables: list[Table]
    unreadable: list[Path]
    closest: str = ""

    def not_found(self, what: str, folders: str, required: list[str]) -> DatasetError:
        """The one-line error when no sheet matched, naming the columns looked for and the closest miss."""
        text = (f"annotation workbook not found: no .xlsx in {folders} has a sheet with the columns {required} in "
                f"its first {HEADER_SEARCH_ROWS} rows")
        if self.closest:
            text += f" (closest: {self.closest})"
        if self.unreadable:
            text += f"; unreadable: {', '.join(p.name for p in self.unreadable)}"
        return DatasetError(f"{text}; copy {what} there")


def workbooks_in(folders) -> list[Path]:
    """The .xlsx files in the given folders, without Office lock files and hidden files."""
    return [p for folder in folders if folder.is_dir() for p in sorted(folder.glob("*.xlsx"))
            if not p.name.startswith(("~$", "."))]


def find_tables(paths, required: list[str]) -> TableSearch:
    """Every sheet of the workbooks `paths` with a row, among its first HEADER_SEARCH_ROWS, that holds all the
    `required` column names: a workbook is found by its columns whatever its file or sheet is called."""
    import openpyxl

    search = TableSearch(tables=[], unreadable=[])
    best = len(required) + 1
    for path in paths:
        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - not a workbook we can read; named in the error if nothing matches
            search.unreadable.append(path)
            continue
        try:
            for sheet in workbook.worksheets:
                rows = tuple(tuple(row) for row in sheet.iter_rows(values_only=True))
                for number, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
                    names = {cell_text(v) for v in row}
                    missing = [name for name in required if name not in names]
                    if not missing:
                        search.tables.append(Table(path=path, sheet=sheet.title, header_row=number, rows=rows))
                        break
                    if len(missing) < best and len(missing) < len(required):
                        best = len(missing)
                        search.closest = (f"sheet {sheet.title!r} of {path.name} row {number + 1} lacks {missing}; "
                                          f"columns found: {[n for n in (cell_text(v) for v in row) if n]}")
        finally:
            workbook.close()
    return search


def load_workbook(path: Path, fix: str):
    """The workbook, read-only, or DatasetError naming the file and the fix."""
    import openpyxl

    if not path.is_file():
        raise DatasetError(f"annotation workbook not found: {path}. {fix}")
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad file
        raise DatasetError(f"cannot read annotation workbook {path} ({exc}); replace it with the dataset's "
                           f"original .xlsx file") from exc


def sheet_rows(workbook, path: Path, sheet: str) -> list[tuple]:
    """All rows of the named sheet (values), or DatasetError listing the sheets the workbook has."""
    if sheet not in workbook.sheetnames:
        raise DatasetError(f"annotation workbook {path} has no sheet {sheet!r} (it has {workbook.sheetnames}); "
                           f"use the dataset's original workbook")
    return [tuple(row) for row in workbook[sheet].iter_rows(values_only=True)]


def header_records(rows: list[tuple], path: Path, sheet: str, note_rows: int,
                   required: list[str]) -> list[tuple[int, dict]]:
    """(1-based row number, {column: value}) for the rows below the header, which follows `note_rows` rows
    (DatasetError naming the sheet and the columns found when a required column is missing)."""
    return records_below_header(rows, note_rows, required, f"sheet {sheet!r} of {path}", "note", cell_text)


def cell_text(value) -> str:
    """The recognition sheets' cell text with each inner run of whitespace made one space (a header or name
    typed with a double space or a line break still matches)."""
    return " ".join(recognition_cell_text(value).split())


def frame_cell(value, where: str) -> tuple[int | None, bool]:
    """(frame number or None when not annotated, whether it was fractional and rounded).

    Numbers, numeric text ("0123", "57.5") and fractional values (rounded half up) are accepted; blanks and
    "/" mean not annotated. Anything else is a DatasetError naming the cell.
    """
    if value is None or isinstance(value, bool):
        return None, False
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip()
        if text.lower() in _BLANKS:
            return None, False
        try:
            number = float(text)
        except ValueError:
            raise DatasetError(f"bad frame number {text!r} in {where}: frame numbers must be numbers; correct the "
                               f"cell or restore the original sheet") from None
    if not math.isfinite(number):
        return None, False
    rounded = int(math.floor(number + 0.5))
    return rounded, rounded != number


def kind_cell(value, where: str) -> str:
    """"micro" or "macro" from any of the sheets' spellings; DatasetError for anything else."""
    text = " ".join(str(value or "").split()).lower()
    kind = catalog.TYPE_SPELLINGS.get(text)
    if kind is None:
        raise DatasetError(f"unknown expression type {cell_text(value)!r} in {where}; expected one of "
                           f"'macro-expression', 'micro-expression', 'Macro', 'Micro - 1/2' (or 'ME'/'MaE')")
    return kind


def interval_from_cells(onset, apex, offset, kind: str, first_frame: int, where: str,
                        notes: list[ReaderNote], reversed_rows: str = "error") -> Interval | None:
    """One annotated interval from a row's onset / apex / offset cells, by the public MEGC loaders' rules.

    - fractional frame numbers are rounded (SAMM);
    - apex 0 (1-based datasets), -1 or blank means no apex;
    - onset below the first frame (0 in a 1-based dataset) or blank: the apex is the onset;
    - offset below the first frame (0 in a 1-based dataset) or blank: the apex is the offset (CAS(ME)^2 writes
      0 for "offset not coded");
    - no usable onset or offset even with the apex: the row is left out (noted);
    - offset before onset: DatasetError (a wrong row, not a convention), or with `reversed_rows="leave out"`
      the row is left out and noted by name (CAS(ME)^3's published workbook holds such rows).
    """
    values = {}
    for name, cell in (("onset", onset), ("apex", apex), ("offset", offset)):
        number, rounded = frame_cell(cell, f"{where}, {name}")
        if rounded:
            notes.append(ReaderNote("fractional frame number rounded", f"{where}: {name} {cell} -> {number}"))
        values[name] = number
    ap = values["apex"]
    if ap is not None and (ap < first_frame or ap < 0):
        notes.append(ReaderNote(f"apex {ap}: not annotated", f"{where}: apex {apex!r} is not a frame: no apex"))
        ap = None
    filled = []
    for name, cell in (("onset", onset), ("offset", offset)):
        if values[name] is None or values[name] < first_frame:
            if ap is None:
                notes.append(ReaderNote("row left out",
                                        f"{where}: {name} {cell!r} is not a frame and there is no apex"))
                return None
            notes.append(ReaderNote(f"{name} missing: apex used", f"{where}: {name} {cell!r} -> apex {ap}"))
            values[name] = ap
            filled.append(name)
    on, off = values["onset"], values["offset"]
    if off < on and reversed_rows == "leave out":
        notes.append(ReaderNote("row left out: offset before onset", f"{where}: onset {on}, offset {off}"))
        return None
    if off < on:
        raise DatasetError(f"bad frame numbers in {where}: offset {off} is before onset {on}; correct the row or "
                           f"restore the original sheet")
    return Interval(onset=on, offset=off, kind=kind, apex=ap, where=where, filled=tuple(filled))


def bind_to_video(interval: Interval, numbers: tuple[int, ...], video_id: str,
                  notes: list[ReaderNote]) -> Interval:
    """Check an interval against its video's frames: an offset past the last frame is clamped (noted; the
    SAMM sheet has such rows); an onset outside the video is a DatasetError."""
    first, last = numbers[0], numbers[-1]
    if interval.onset > last or interval.offset < first:
        raise DatasetError(f"bad frame numbers in {interval.where}: {interval.onset}-{interval.offset} lies outside "
                           f"video {video_id}'s frames {first}-{last}; correct the row or restore the video's frames")
    if interval.offset > last:
        notes.append(ReaderNote("offset past the last frame: clamped",
                                f"{interval.where}: offset {interval.offset} -> {last} (video {video_id})"))
        return dataclasses.replace(interval, offset=last)
    if interval.onset < first:
        notes.append(ReaderNote("onset before the first frame: clamped",
                                f"{interval.where}: onset {interval.onset} -> {first} (video {video_id})"))
        return dataclasses.replace(interval, onset=first)
    return interval


def version_of(path: Path) -> int:
    """The release number in a file name like SAMM_LongVideos_V2_Release.xlsx (0 if none)."""
    match = re.search(r"_V(\d+)_", path.name)
    return int(match.group(1)) if match else 0
