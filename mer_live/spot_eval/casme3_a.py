"""CAS(ME)^3 part A: `DATA/CASME3_A/part_A/spNO.1/a/color/0.jpg` (numbered from 0, with gaps), 30 fps.

The annotation workbook is the one .xlsx in `DATA/CASME3_A` or `DATA/CASME3_A/annotation` with a sheet
`AU+Emotion` (header: Subject, Filename, Onset, Apex, Offset, AU, Expression type, Objective class; frame
numbers stored as text). Its sheet `eye blink` holds blink intervals (assumed to share the Subject /
Filename / Onset / Offset header): they are not scored, but the report counts the micro events spotted on
a blink. Frame numbers index the jpg files: the frame numbered 57 is `57.jpg`, which is not the 58th file
when numbers are missing, and its time is 57 / 30 s from frame 0 (a missing number is a lost frame).
Pitfalls handled: text frame numbers, onset 0 (a real frame here), apex -1, folder names whose case differs
from the sheet's (`spNo.1` on disk, `spNO.1` in the sheet), videos without annotations (scored).
"""
from __future__ import annotations

from pathlib import Path

from mer_live.datasets.files import require_dir
from mer_live.datasets.records import DatasetError
from mer_live.spot_eval import catalog
from mer_live.spot_eval.records import Interval, LongVideo, ReaderNote, SpotIndex
from mer_live.spot_eval.sheets import (bind_to_video, cell_text, header_records, interval_from_cells, kind_cell,
                                       load_workbook, sheet_rows)
from mer_live.spot_eval.video_files import child_dir, has_frames, video_frames

NAME = "CASME3_A"


def find_workbook(folder: Path) -> Path:
    """The one workbook with a sheet "AU+Emotion" in `folder` or `folder/annotation`."""
    import openpyxl

    candidates = [p for parts in catalog.CASME3_A_SHEET_DIRS for p in sorted(folder.joinpath(*parts).glob("*.xlsx"))
                  if not p.name.startswith(("~$", "."))]
    found = []
    for path in candidates:
        try:
            workbook = openpyxl.load_workbook(path, read_only=True)
        except Exception:  # noqa: BLE001 - another workbook that is not ours; ours is checked below
            continue
        if catalog.CASME3_A_LABEL_SHEET in workbook.sheetnames:
            found.append(path)
        workbook.close()
    if not found:
        raise DatasetError(f"annotation workbook not found: no .xlsx with a sheet {catalog.CASME3_A_LABEL_SHEET!r} in "
                           f"{folder} or {folder / 'annotation'}; copy CAS(ME)^3 part A's annotation workbook there")
    if len(found) > 1:
        raise DatasetError(f"several workbooks with a sheet {catalog.CASME3_A_LABEL_SHEET!r}: "
                           f"{[str(p) for p in found]}; keep one")
    return found[0]


def load_casme3_a(data_path: Path) -> SpotIndex:
    data_path = Path(data_path)
    folder = require_dir(data_path.joinpath(*catalog.CASME3_A_DIR), "CAS(ME)^3 part A folder",
                         "DATA_PATH must hold CASME3_A/ with part_A/ and the annotation workbook")
    frames_root = require_dir(data_path.joinpath(*catalog.CASME3_A_FRAMES_DIR), "CAS(ME)^3 part A frames folder",
                              "put the frames there as part_A/spNO.1/a/color/0.jpg")
    sheet_path = find_workbook(folder)
    notes: list[ReaderNote] = []
    workbook = load_workbook(sheet_path, "")
    try:
        label_rows = sheet_rows(workbook, sheet_path, catalog.CASME3_A_LABEL_SHEET)
        blink_rows = (sheet_rows(workbook, sheet_path, catalog.CASME3_A_BLINK_SHEET)
                      if catalog.CASME3_A_BLINK_SHEET in workbook.sheetnames else None)
    finally:
        workbook.close()
    if blink_rows is None:
        notes.append(ReaderNote("no blink sheet", f"{sheet_path.name} has no sheet {catalog.CASME3_A_BLINK_SHEET!r}: "
                                                  f"blinks are not counted"))
    first = catalog.FIRST_FRAME[NAME]
    by_video: dict[str, list[Interval]] = {}
    blinks: dict[str, list[Interval]] = {}
    tables = [(catalog.CASME3_A_LABEL_SHEET, label_rows, catalog.CASME3_A_COLUMNS, by_video)]
    if blink_rows is not None:
        tables.append((catalog.CASME3_A_BLINK_SHEET, blink_rows, catalog.CASME3_A_BLINK_COLUMNS, blinks))
    for sheet, rows, cols, target in tables:
        for number, record in header_records(rows, sheet_path, sheet, 0, list(cols.values())):
            where = f"sheet {sheet!r} row {number}"
            subject, clip = cell_text(record[cols["subject"]]), cell_text(record[cols["filename"]])
            video_dir = _color_dir(frames_root, subject, clip)
            if video_dir is None:
                raise DatasetError(f"video {subject}/{clip} is listed in {where} of {sheet_path}, but "
                                   f"{frames_root / subject / clip / catalog.CASME3_A_COLOR_DIR} does not exist; "
                                   f"restore the video's frames there")
            video_id = f"{video_dir.parent.parent.name}/{video_dir.parent.name}"
            kind = kind_cell(record[cols["type"]], f"{where} of {sheet_path}") if "type" in cols else "blink"
            if video_id != f"{subject}/{clip}":
                notes.append(ReaderNote("folder name case differs", f"{where}: {subject}/{clip} is {video_id} on disk"))
            apex = record[cols["apex"]] if "apex" in cols else None
            interval = interval_from_cells(record[cols["onset"]], apex, record[cols["offset"]], kind, first,
                                           f"{where} of {sheet_path} ({video_id})", notes)
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
    return SpotIndex(name=NAME, videos=found, notes=notes)


def _color_dir(frames_root: Path, subject: str, clip: str) -> Path | None:
    subject_dir = child_dir(frames_root, subject)
    clip_dir = child_dir(subject_dir, clip) if subject_dir is not None else None
    color = child_dir(clip_dir, catalog.CASME3_A_COLOR_DIR) if clip_dir is not None else None
    return color


def _subject_key(path: Path) -> tuple:
    import re

    digits = re.findall(r"\d+", path.name)
    return (int(digits[-1]) if digits else -1, path.name)
