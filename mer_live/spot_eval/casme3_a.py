"""CAS(ME)^3 part A: `DATA/CASME3_A/part_A/spNO.1/a/color/0.jpg` (numbered from 0, with gaps), 30 fps.

The annotation workbook is the one .xlsx in `DATA/CASME3_A` or `DATA/CASME3_A/annotation` with a sheet
whose header holds Subject, Filename, Onset, Apex and Offset, found by those columns: the published
`cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx` (micro-expressions only, no type column: every row is micro,
noted) or a sheet `AU+Emotion` (with an `Expression type` column); frame numbers may be stored as text.
A sheet `eye blink` in that workbook holds blink intervals (assumed to share the Subject / Filename / Onset /
Offset header): they are not scored, but the report counts the micro events spotted on a blink. Frame
numbers index the jpg files: the frame numbered 57 is `57.jpg`, which is not the 58th file when numbers are
missing, and its time is 57 / 30 s from frame 0 (a missing number is a lost frame).
Pitfalls handled: text frame numbers, onset and offset 0 (real frames here, never "not coded"), apex -1, a
row whose offset is before its onset (named, left out and counted in the notes; the published workbook has
one, and two rows with offset 0), folder names whose case differs from the sheet's (`spNo.1` on disk, `spNO.1` in the
sheet), videos without annotations (scored).
"""
from __future__ import annotations

from pathlib import Path

from mer_live.datasets.files import require_dir
from mer_live.datasets.records import DatasetError
from mer_live.spot_eval import catalog
from mer_live.spot_eval.records import Interval, LongVideo, ReaderNote, SpotIndex
from mer_live.spot_eval.sheets import (Table, bind_to_video, cell_text, find_tables, header_records,
                                       interval_from_cells, kind_cell, load_workbook, sheet_rows, workbooks_in)
from mer_live.spot_eval.video_files import child_dir, has_frames, video_frames

NAME = "CASME3_A"


def find_label_sheet(folder: Path, notes: list[ReaderNote]) -> Table:
    """The one sheet with the label columns in `folder` or `folder/annotation` (the blink sheet aside); a sheet
    named AU+Emotion wins over others, two otherwise equal ones are a DatasetError (keep one)."""
    required = [catalog.CASME3_A_COLUMNS[k] for k in catalog.CASME3_A_REQUIRED]
    folders = [folder.joinpath(*parts) for parts in catalog.CASME3_A_SHEET_DIRS]
    search = find_tables(workbooks_in(folders), required)
    tables = [t for t in search.tables if t.sheet != catalog.CASME3_A_BLINK_SHEET]
    if not tables:
        raise search.not_found(f"CAS(ME)^3 part A's annotation workbook ({catalog.CASME3_A_PUBLISHED_SHEET})",
                               f"{folder} or {folder / 'annotation'}", required)
    named = [t for t in tables if t.sheet == catalog.CASME3_A_LABEL_SHEET]
    if len(named if named else tables) > 1:
        raise DatasetError(f"several sheets hold CAS(ME)^3 part A's label columns: "
                           f"{[f'{t.path}: {t.sheet}' for t in (named or tables)]}; keep one")
    chosen = (named or tables)[0]
    notes.append(ReaderNote("annotation sheet read", chosen.describe()))
    return chosen


def load_casme3_a(data_path: Path) -> SpotIndex:
    data_path = Path(data_path)
    folder = require_dir(data_path.joinpath(*catalog.CASME3_A_DIR), "CAS(ME)^3 part A folder",
                         "DATA_PATH must hold CASME3_A/ with part_A/ and the annotation workbook")
    frames_root = require_dir(data_path.joinpath(*catalog.CASME3_A_FRAMES_DIR), "CAS(ME)^3 part A frames folder",
                              "put the frames there as part_A/spNO.1/a/color/0.jpg")
    notes: list[ReaderNote] = []
    label = find_label_sheet(folder, notes)
    sheet_path = label.path
    workbook = load_workbook(sheet_path, "")
    try:
        blink_rows = (sheet_rows(workbook, sheet_path, catalog.CASME3_A_BLINK_SHEET)
                      if catalog.CASME3_A_BLINK_SHEET in workbook.sheetnames else None)
    finally:
        workbook.close()
    if blink_rows is None:
        notes.append(ReaderNote("no blink sheet", f"{sheet_path.name} has no sheet {catalog.CASME3_A_BLINK_SHEET!r}: "
                                                  f"blinks are not counted"))
    header = {cell_text(v) for v in label.rows[label.header_row]}
    label_cols = {k: v for k, v in catalog.CASME3_A_COLUMNS.items() if k in catalog.CASME3_A_REQUIRED or v in header}
    if "type" not in label_cols:
        notes.append(ReaderNote("no type column: every row is micro",
                                f"{label.describe()} has no {catalog.CASME3_A_COLUMNS['type']!r} column (the ME label "
                                f"workbook): every row is a micro-expression, and no macro-expression is annotated"))
    first = catalog.FIRST_FRAME[NAME]
    by_video: dict[str, list[Interval]] = {}
    blinks: dict[str, list[Interval]] = {}
    tables = [(label.sheet, list(label.rows), label.header_row, label_cols, by_video)]
    if blink_rows is not None:
        tables.append((catalog.CASME3_A_BLINK_SHEET, blink_rows, 0, catalog.CASME3_A_BLINK_COLUMNS, blinks))
    for sheet, rows, header_row, cols, target in tables:
        for number, record in header_records(rows, sheet_path, sheet, header_row, list(cols.values())):
            where = f"sheet {sheet!r} row {number}"
            subject, clip = cell_text(record[cols["subject"]]), cell_text(record[cols["filename"]])
            video_dir = _color_dir(frames_root, subject, clip)
            if video_dir is None:
                raise DatasetError(f"video {subject}/{clip} is listed in {where} of {sheet_path}, but "
                                   f"{frames_root / subject / clip / catalog.CASME3_A_COLOR_DIR} does not exist; "
                                   f"restore the video's frames there")
            video_id = f"{video_dir.parent.parent.name}/{video_dir.parent.name}"
            kind = ("blink" if target is blinks else
                    kind_cell(record[cols["type"]], f"{where} of {sheet_path}") if "type" in cols else "micro")
            if video_id != f"{subject}/{clip}":
                notes.append(ReaderNote("folder name case differs", f"{where}: {subject}/{clip} is {video_id} on disk"))
            apex = record[cols["apex"]] if "apex" in cols else None
            interval = interval_from_cells(record[cols["onset"]], apex, record[cols["offset"]], kind, first,
                                           f"{where} of {sheet_path} ({video_id})", notes, reversed_rows="leave out")
            if interval is not None:
                target.setdefault(video_id, []).append(interval)

    found: list[LongVideo] = []
    for subject_dir in sorted((p for p in frames_root.iterdir() if p.is_dir()), key=_subject_key):
        for clip_dir in sorted(p for p in subject_dir.iterdir() if p.is_dir()):
            video_id = f"{subject_dir.name}/{clip_dir.name}"
            color = clip_dir / catalog.CASME3_A_COLOR_DIR
            listed = by_video.get(video_id)
            if not listed and not has_frames(color, catalog.CASME3_A_EXT):
                notes.append(ReaderNote("video left out", f"{video_id}: no {catalog.CASME3_A_COLOR_DIR}/*.jpg frames, "
                                                          f"no annotations"))
                continue
            frames, numbers = video_frames(color, catalog.CASME3_A_EXT, video_id,
                                           str(sheet_path) if (listed or blinks.get(video_id)) else None)
            intervals = tuple(bind_to_video(i, numbers, video_id, notes) for i in listed or ())
            video_blinks = tuple(bind_to_video(i, numbers, video_id, notes) for i in blinks.get(video_id, ()))
            if not intervals:
                notes.append(ReaderNote("video without annotations", f"{video_id}: scored; its events are false ones"))
            found.append(LongVideo(dataset=NAME, video_id=video_id, subject=subject_dir.name, frames=frames,
                                   numbers=numbers, fps=catalog.FPS[NAME], intervals=intervals, blinks=video_blinks))
    if not found:
        raise DatasetError(f"no CAS(ME)^3 part A videos (folders like spNO.1/a/color) in {frames_root}; check "
                           f"DATA_PATH")
    return SpotIndex(name=NAME, videos=found, notes=notes, sheet=sheet_path)


def _color_dir(frames_root: Path, subject: str, clip: str) -> Path | None:
    subject_dir = child_dir(frames_root, subject)
    clip_dir = child_dir(subject_dir, clip) if subject_dir is not None else None
    color = child_dir(clip_dir, catalog.CASME3_A_COLOR_DIR) if clip_dir is not None else None
    return color


def _subject_key(path: Path) -> tuple:
    import re

    digits = re.findall(r"\d+", path.name)
    return (int(digits[-1]) if digits else -1, path.name)
