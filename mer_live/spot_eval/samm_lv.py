"""SAMM Long Videos: `DATA/SAMM_LV/SAMM_longvideos/006_1/006_1_0001.jpg`, 200 fps, and the workbook
`DATA/SAMM_LV/SAMM_LongVideos_V{1,2,3}_Release.xlsx` (the highest release present is read, and noted).

Sheet `FACS_Movement_Only`: 9 note rows, then a header (Subject, Filename, Inducement Code, Onset, Apex,
Offset, Duration, Type, Action Units, Notes). A row's Filename `006_1_3` is movement 3 of video `006_1`.
The sheet is found by its columns, so a workbook re-saved with the sheet named `Sheet1`, or under another
file name, is read too (the report names the sheet read).
Pitfalls handled: fractional frame numbers (rounded), apex -1 (not annotated), onset 0 (the apex is used,
as the public loaders do), offsets past a video's last frame (clamped, noted), types `Macro` and
`Micro - 1/2`, videos without annotations (scored).
"""
from __future__ import annotations

import re
from pathlib import Path

from mer_live.datasets.files import require_dir
from mer_live.datasets.records import DatasetError
from mer_live.spot_eval import catalog
from mer_live.spot_eval.records import Interval, LongVideo, ReaderNote, SpotIndex
from mer_live.spot_eval.sheets import (Table, bind_to_video, cell_text, find_tables, header_records,
                                       interval_from_cells, kind_cell, version_of, workbooks_in)
from mer_live.spot_eval.video_files import has_frames, video_frames

NAME = "SAMM_LV"
_MOVEMENT = re.compile(r"^(\d+_\d+)_\d+$")


def find_sheet(folder: Path, notes: list[ReaderNote]) -> Table:
    """The sheet with SAMM Long Videos' columns among the .xlsx files in `folder`: a release workbook
    (SAMM_LongVideos_V*_Release.xlsx, highest version) before a renamed one, sheet FACS_Movement_Only before
    another; a tie between two is a DatasetError (keep one)."""
    required = list(catalog.SAMM_LV_COLUMNS.values())
    search = find_tables(workbooks_in([folder]), required)
    if not search.tables:
        raise search.not_found("SAMM Long Videos' workbook (SAMM_LongVideos_V2_Release.xlsx)", str(folder), required)

    def rank(table: Table) -> tuple:
        return (table.path.match(catalog.SAMM_LV_SHEET_GLOB), version_of(table.path),
                table.sheet == catalog.SAMM_LV_SHEET_NAME)

    tables = sorted(search.tables, key=rank)
    chosen = tables[-1]
    if len(tables) > 1 and rank(tables[-2]) == rank(chosen):
        raise DatasetError(f"several sheets hold SAMM Long Videos' columns: {tables[-2].describe()} and "
                           f"{chosen.describe()} in {folder}; keep one")
    notes.append(ReaderNote("annotation sheet read", chosen.describe()))
    others = [t.describe() for t in tables[:-1]] + [f"{p.name} (unreadable)" for p in search.unreadable]
    if others:
        notes.append(ReaderNote("workbook chosen", f"{chosen.describe()} read (also present: {', '.join(others)})"))
    return chosen


def load_samm_lv(data_path: Path) -> SpotIndex:
    data_path = Path(data_path)
    folder = require_dir(data_path.joinpath(*catalog.SAMM_LV_DIR), "SAMM Long Videos folder",
                         "DATA_PATH must hold SAMM_LV/ with SAMM_longvideos/ and SAMM_LongVideos_V2_Release.xlsx")
    frames_root = require_dir(data_path.joinpath(*catalog.SAMM_LV_FRAMES_DIR), "SAMM Long Videos frames folder",
                              "SAMM ships it as SAMM_longvideos/006_1/006_1_0001.jpg; put it there")
    notes: list[ReaderNote] = []
    table = find_sheet(folder, notes)
    sheet_path = table.path
    cols = catalog.SAMM_LV_COLUMNS
    records = header_records(list(table.rows), sheet_path, table.sheet, table.header_row, list(cols.values()))
    first = catalog.FIRST_FRAME[NAME]
    by_video: dict[str, list[Interval]] = {}
    for number, record in records:
        where = f"sheet {table.sheet!r} row {number}"
        filename = cell_text(record[cols["filename"]])
        match = _MOVEMENT.match(filename)
        if match is None:
            raise DatasetError(f"{where} of {sheet_path} has Filename {filename!r}; expected like 006_1_3 (video "
                               f"006_1, movement 3); restore the original workbook")
        video_id = match.group(1)
        interval = interval_from_cells(record[cols["onset"]], record[cols["apex"]], record[cols["offset"]],
                                       kind_cell(record[cols["type"]], f"{where} of {sheet_path}"), first,
                                       f"{where} of {sheet_path} ({filename})", notes)
        if interval is not None:
            by_video.setdefault(video_id, []).append(interval)

    on_disk = {p.name: p for p in frames_root.iterdir() if p.is_dir()}
    for video_id in sorted(set(by_video) - set(on_disk)):
        raise DatasetError(f"video {video_id} is listed in {sheet_path}, but {frames_root / video_id} does not exist; "
                           f"restore the video's frames there")
    found: list[LongVideo] = []
    for video_id in sorted(on_disk):
        listed = by_video.get(video_id)
        if not listed and not has_frames(on_disk[video_id], catalog.SAMM_LV_EXT):
            notes.append(ReaderNote("video left out", f"{video_id}: no .{catalog.SAMM_LV_EXT} frames, no annotations"))
            continue
        frames, numbers = video_frames(on_disk[video_id], catalog.SAMM_LV_EXT, video_id,
                                       str(sheet_path) if listed else None)
        intervals = tuple(bind_to_video(i, numbers, video_id, notes) for i in listed or ())
        if not intervals:
            notes.append(ReaderNote("video without annotations", f"{video_id}: scored; its events are false ones"))
        found.append(LongVideo(dataset=NAME, video_id=video_id, subject=video_id.split("_")[0], frames=frames,
                               numbers=numbers, fps=catalog.FPS[NAME], intervals=intervals))
    if not found:
        raise DatasetError(f"no SAMM long videos (folders like 006_1) in {frames_root}; check DATA_PATH")
    return SpotIndex(name=NAME, videos=found, notes=notes, sheet=sheet_path)
