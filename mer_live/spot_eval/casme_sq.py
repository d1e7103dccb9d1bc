"""CAS(ME)^2 long videos: `DATA/CASME_SQ/rawpic/s15/15_0101disgustingteeth/img001.jpg`, 30 fps, and the
workbook `CAS(ME)^2code_final.xlsx`.

The workbook's sheets have no header row. `naming rule1` maps the subject index of `CASFEcode_final`'s
first column to a folder (`s15`), `naming rule2` maps a name prefix (`disgust1` of `disgust1_1`) to the
video code (`0101`, stored as text); a video's folder is `s15/15_0101<words>`. Column positions follow the
public loaders (an assumption where the sheets carry no header): naming rule1 = (folder number, folder name,
subject index), naming rule2 = (code, name prefix).

Pitfalls handled: frame numbers padded to 3 digits below 100 and plain above (sorted by the number);
offset 0 (not coded: the apex is used), apex 0 (no apex); videos without annotations (scored: every
event in them is a false one); the folder `s19/23_0502...`, an unlabeled copy of subject 23's video
(its number is not its subject folder's): left out and noted.
"""
from __future__ import annotations

import re
from pathlib import Path

from mer_live.datasets.files import require_dir
from mer_live.datasets.records import DatasetError
from mer_live.spot_eval import catalog
from mer_live.spot_eval.records import Interval, LongVideo, ReaderNote, SpotIndex
from mer_live.spot_eval.sheets import (bind_to_video, cell_text, interval_from_cells, is_blank_row, kind_cell,
                                       load_workbook, sheet_rows)
from mer_live.spot_eval.video_files import has_frames, video_frames

NAME = "CASME_SQ"
_SUBJECT_FOLDER = re.compile(r"^s(\d+)$")
_VIDEO_FOLDER = re.compile(r"^(\d+)_(\d{4})")


def _code_text(value) -> str:
    """A video code cell: "0101" as text, or 101 as a number -> "0101"."""
    text = cell_text(value)
    return f"{int(text):04d}" if text.isdigit() else text


def _subject_folders(rows: list[tuple], where: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for number, row in enumerate(rows, start=1):
        if is_blank_row(row):
            continue
        cells = list(row) + [None] * 3
        folder, index = cell_text(cells[1]), cell_text(cells[2])
        if not _SUBJECT_FOLDER.match(folder) or not index.isdigit():
            raise DatasetError(f"{where} row {number} is {[cell_text(c) for c in row]}; expected (folder number, "
                               f"folder name like s15, subject index); restore the original workbook")
        out[int(index)] = folder
    return out


def _video_codes(rows: list[tuple], where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        if is_blank_row(row):
            continue
        cells = list(row) + [None] * 2
        code, prefix = _code_text(cells[0]), cell_text(cells[1])
        if not re.fullmatch(r"\d{4}", code) or not prefix:
            raise DatasetError(f"{where} row {number} is {[cell_text(c) for c in row]}; expected (video code like "
                               f"0101, name prefix like disgust1); restore the original workbook")
        out[prefix.lower()] = code
    return out


def load_casme_sq(data_path: Path) -> SpotIndex:
    data_path = Path(data_path)
    require_dir(data_path / catalog.CASME_SQ_FRAMES_DIR[0], "CAS(ME)^2 folder",
                "DATA_PATH must hold CASME_SQ/ with rawpic/ and CAS(ME)^2code_final.xlsx")
    rawpic = require_dir(data_path.joinpath(*catalog.CASME_SQ_FRAMES_DIR), "CAS(ME)^2 frames folder",
                         "CAS(ME)^2 ships it as rawpic/s15/15_0101disgustingteeth/img001.jpg; put it there")
    sheet_path = data_path.joinpath(*catalog.CASME_SQ_SHEET)
    workbook = load_workbook(sheet_path, "Copy CAS(ME)^2's annotation workbook there under that name.")
    try:
        codes_rows = sheet_rows(workbook, sheet_path, catalog.CASME_SQ_CODES_SHEET)
        subjects = _subject_folders(sheet_rows(workbook, sheet_path, catalog.CASME_SQ_SUBJECTS_SHEET),
                                    f"sheet {catalog.CASME_SQ_SUBJECTS_SHEET!r} of {sheet_path}")
        videos = _video_codes(sheet_rows(workbook, sheet_path, catalog.CASME_SQ_VIDEOS_SHEET),
                              f"sheet {catalog.CASME_SQ_VIDEOS_SHEET!r} of {sheet_path}")
    finally:
        workbook.close()

    notes: list[ReaderNote] = []
    first = catalog.FIRST_FRAME[NAME]
    cols = catalog.CASME_SQ_COLUMNS
    by_video: dict[str, list[Interval]] = {}
    for number, row in enumerate(codes_rows, start=1):
        if is_blank_row(row):
            continue
        where = f"sheet {catalog.CASME_SQ_CODES_SHEET!r} row {number}"
        cells = list(row) + [None] * 9
        subject_text, name = cell_text(cells[cols["subject"]]), cell_text(cells[cols["name"]])
        if not subject_text.isdigit():
            raise DatasetError(f"{where} of {sheet_path} has subject {subject_text!r}, not a subject index; that "
                               f"sheet has no header row: restore the original workbook")
        folder = subjects.get(int(subject_text))
        if folder is None:
            raise DatasetError(f"{where} of {sheet_path}: subject index {subject_text} is not in sheet "
                               f"{catalog.CASME_SQ_SUBJECTS_SHEET!r}; restore the original workbook")
        code = videos.get(name.split("_")[0].lower())
        if code is None:
            raise DatasetError(f"{where} of {sheet_path}: name {name!r} has a prefix that sheet "
                               f"{catalog.CASME_SQ_VIDEOS_SHEET!r} does not list; restore the original workbook")
        video_id = _video_id(rawpic, folder, code, f"{where} of {sheet_path}")
        interval = interval_from_cells(cells[cols["onset"]], cells[cols["apex"]], cells[cols["offset"]],
                                       kind_cell(cells[cols["type"]], f"{where} of {sheet_path}"), first,
                                       f"{where} of {sheet_path} ({video_id})", notes)
        if interval is not None:
            by_video.setdefault(video_id, []).append(interval)

    found: list[LongVideo] = []
    for subject_dir in sorted((p for p in rawpic.iterdir() if p.is_dir()), key=lambda p: _number(p.name)):
        subject = _SUBJECT_FOLDER.match(subject_dir.name)
        for video_dir in sorted(p for p in subject_dir.iterdir() if p.is_dir()):
            video_id = f"{subject_dir.name}/{video_dir.name}"
            match = _VIDEO_FOLDER.match(video_dir.name)
            if subject is None or match is None or int(match.group(1)) != int(subject.group(1)):
                if video_id in by_video:     # cannot happen: rows only ever name NN_code folders of sNN
                    raise DatasetError(f"video {video_id} is annotated but its name does not follow NN_code")
                notes.append(ReaderNote("video left out", f"{video_id}: its number is not its subject folder's "
                                        f"(an unlabeled copy of another subject's video)"))
                continue
            listed = by_video.get(video_id)
            if not listed and not has_frames(video_dir, catalog.CASME_SQ_EXT):
                notes.append(ReaderNote("video left out", f"{video_id}: no .jpg frames, no annotations"))
                continue
            frames, numbers = video_frames(video_dir, catalog.CASME_SQ_EXT, video_id,
                                           f"{sheet_path}" if listed else None)
            intervals = tuple(bind_to_video(i, numbers, video_id, notes) for i in listed or ())
            if not intervals:
                notes.append(ReaderNote("video without annotations", f"{video_id}: scored; its events are false ones"))
            found.append(LongVideo(dataset=NAME, video_id=video_id, subject=subject_dir.name, frames=frames,
                                   numbers=numbers, fps=catalog.FPS[NAME], intervals=intervals))
    if not found:
        raise DatasetError(f"no CAS(ME)^2 videos (folders like s15/15_0101disgustingteeth) in {rawpic}; check "
                           f"DATA_PATH")
    return SpotIndex(name=NAME, videos=found, notes=notes, sheet=sheet_path)


def _number(name: str) -> tuple:
    digits = re.findall(r"\d+", name)
    return (int(digits[0]) if digits else -1, name)


def _video_id(rawpic: Path, folder: str, code: str, where: str) -> str:
    """The folder `sNN/NN_code<words>` a row names; DatasetError when it is missing or ambiguous."""
    subject_dir = rawpic / folder
    number = int(folder[1:])
    matches = []
    if subject_dir.is_dir():
        for path in subject_dir.iterdir():
            match = _VIDEO_FOLDER.match(path.name)
            if path.is_dir() and match and int(match.group(1)) == number and match.group(2) == code:
                matches.append(path.name)
    if not matches:
        raise DatasetError(f"{where} names video {folder}/{number}_{code}*, but {subject_dir} holds no such folder; "
                           f"restore the video's frames under rawpic")
    if len(matches) > 1:
        raise DatasetError(f"{where} names video {folder}/{number}_{code}*, which matches several folders "
                           f"{sorted(matches)}; keep one")
    return f"{folder}/{matches[0]}"
