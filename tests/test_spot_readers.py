"""Long-video readers on hand-made trees and workbooks holding every pitfall of the real sheets
(REFERENCE.md), their one-line errors, and a round trip through the synthetic long-video generator."""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from mer_live.datasets.records import DatasetError
from mer_live.spot_eval import load_long_videos
from mer_live.spot_eval.source import LongVideoSource
from mer_live.synthetic.layouts import save_workbook


def frames(folder: Path, names) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    image = np.full((8, 8, 3), 128, np.uint8)
    for name in names:
        cv2.imwrite(str(folder / name), image)


def spans(video):
    return [(i.onset, i.offset, i.kind) for i in video.intervals]


# ------------------------------------------------------------------------------------------- CAS(ME)^2

CASME_SQ_CODES = [
    [1, "disgust1_1", 10, 15, 20, "4", "negative", "micro-expression", ""],
    [1, "disgust1_2", 40, 60, 0, "4", "negative", "macro-expression", ""],     # offset 0: apex used
    [1, "disgust1_3", 70, 0, 101, "4", "negative", "macro-expression", ""],    # apex 0: no apex
    [2, "disgust1_1", 5, 8, 12, "12", "positive", "micro-expression", ""],
]


def casme_sq(root: Path, codes=None, drop_sheet: str | None = None) -> Path:
    raw = root / "CASME_SQ" / "rawpic"
    frames(raw / "s15" / "15_0101disgustingteeth", [f"img{n:03d}.jpg" for n in range(1, 106)])
    frames(raw / "s15" / "15_0502funnyerrors", [f"img{n:03d}.jpg" for n in range(1, 51)])      # no labels
    frames(raw / "s16" / "16_0101disgustingteeth", [f"img{n:03d}.jpg" for n in range(1, 61)])
    frames(raw / "s19" / "23_0502funnyerrors", [f"img{n:03d}.jpg" for n in range(1, 11)])      # a copy
    sheets = {"CASFEcode_final": CASME_SQ_CODES if codes is None else codes,
              "naming rule1": [[15, "s15", 1], [16, "s16", 2], [19, "s19", 3]],
              "naming rule2": [["0101", "disgust1"], [502, "happy1"]]}           # a code stored as a number
    sheets.pop(drop_sheet, None)
    save_workbook(root / "CASME_SQ" / "CAS(ME)^2code_final.xlsx", sheets)
    return root


def test_casme_sq_reads_every_pitfall(tmp_path):
    index = load_long_videos(casme_sq(tmp_path), "CASME_SQ")
    videos = {v.video_id: v for v in index.videos}
    assert sorted(videos) == ["s15/15_0101disgustingteeth", "s15/15_0502funnyerrors", "s16/16_0101disgustingteeth"]
    first = videos["s15/15_0101disgustingteeth"]
    assert spans(first) == [(10, 20, "micro"), (40, 60, "macro"), (70, 101, "macro")]
    assert first.numbers == tuple(range(1, 106)) and first.frames[99].name == "img100.jpg"
    assert first.fps == 30.0 and first.intervals[2].apex is None
    assert [i.filled for i in first.intervals] == [(), ("offset",), ()]
    assert spans(videos["s16/16_0101disgustingteeth"]) == [(5, 12, "micro")]
    assert videos["s15/15_0502funnyerrors"].intervals == ()                 # scored, with nothing to find
    categories = {n.category for n in index.notes}
    assert {"offset missing: apex used", "video left out", "video without annotations",
            "apex 0: not annotated"} <= categories
    apex_notes = [n.text for n in index.notes if n.category == "apex 0: not annotated"]
    assert len(apex_notes) == 1 and "row 3 " in apex_notes[0]
    assert any("s19/23_0502funnyerrors" in n.text for n in index.notes if n.category == "video left out")


@pytest.mark.parametrize("breakage, needle", [
    ("no rawpic", "rawpic"),
    ("no workbook", "CAS(ME)^2code_final.xlsx"),
    ("no naming rule2", "naming rule2"),
    ("video without frames", "16_0101"),
    ("subject not in naming rule1", "subject index 7"),
    ("bad onset", "'ten'"),
    ("no annotation rows", "gives no annotation to score against for any of the 3 videos: its sheet has no "
                           "annotation rows"),
    ("every row left out", "each of its 4 annotations was left out (first: sheet 'CASFEcode_final' row 1"),
])
def test_casme_sq_errors_name_the_problem_in_one_line(tmp_path, breakage, needle):
    codes = [list(r) for r in CASME_SQ_CODES]
    if breakage == "no annotation rows":
        codes = []
    if breakage == "every row left out":           # no onset, apex or offset that is a frame: nothing to score
        codes = [row[:2] + [0, 0, 0] + row[5:] for row in codes]
    if breakage == "subject not in naming rule1":
        codes[0][0] = 7
    if breakage == "bad onset":
        codes[0][2] = "ten"
    casme_sq(tmp_path, codes=codes, drop_sheet="naming rule2" if breakage == "no naming rule2" else None)
    if breakage == "no rawpic":
        shutil.rmtree(tmp_path / "CASME_SQ" / "rawpic")
    if breakage == "no workbook":
        (tmp_path / "CASME_SQ" / "CAS(ME)^2code_final.xlsx").unlink()
    if breakage == "video without frames":
        for f in (tmp_path / "CASME_SQ" / "rawpic" / "s16" / "16_0101disgustingteeth").iterdir():
            f.unlink()
    with pytest.raises(DatasetError) as caught:
        load_long_videos(tmp_path, "CASME_SQ")
    message = str(caught.value)
    assert needle in message and "\n" not in message


# ------------------------------------------------------------------------------------------- SAMM LV

SAMM_ROWS = [
    [6, "006_1_1", 1, 10.4, 12, 20.6, 11, "Micro - 1/2", "4", ""],     # fractional: rounded
    [6, "006_1_2", 1, 0, 50, 70, 21, "Macro", "12", ""],               # onset 0: apex used
    [6, "006_1_3", 1, 80, -1, 130, 51, "Macro", "12", ""],             # apex -1, offset past the end: clamped
    ["006", "006_1_4", 1, "90", None, "95.4", 6, "Micro - 1/2", "4", ""],  # text numbers
]
SAMM_HEADER = ["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type",
               "Action Units", "Notes"]


def samm_lv(root: Path, rows=None, header=None) -> Path:
    base = root / "SAMM_LV"
    frames(base / "SAMM_longvideos" / "006_1", [f"006_1_{n:04d}.jpg" for n in range(1, 121)])
    frames(base / "SAMM_longvideos" / "006_2", [f"006_2_{n:04d}.jpg" for n in range(1, 31)])    # no labels
    notes = [["SAMM Long Videos"]] + [[] for _ in range(7)] + [["notes end"]]
    save_workbook(base / "SAMM_LongVideos_V2_Release.xlsx",
             {"FACS_Movement_Only": notes + [header or SAMM_HEADER] + (SAMM_ROWS if rows is None else rows)})
    (base / "SAMM_LongVideos_V1_Release.xlsx").write_bytes(b"not a workbook: the newer release must be read")
    return root


def test_samm_lv_reads_every_pitfall(tmp_path):
    index = load_long_videos(samm_lv(tmp_path), "SAMM_LV")
    videos = {v.video_id: v for v in index.videos}
    assert sorted(videos) == ["006_1", "006_2"]
    assert spans(videos["006_1"]) == [(10, 21, "micro"), (50, 70, "macro"), (80, 120, "macro"), (90, 95, "micro")]
    assert videos["006_1"].fps == 200.0 and videos["006_1"].subject == "006"
    assert videos["006_1"].intervals[2].apex is None
    assert [i.filled for i in videos["006_1"].intervals] == [(), ("onset",), (), ()]   # for --onset-missing
    assert videos["006_2"].intervals == ()
    categories = {n.category for n in index.notes}
    assert {"fractional frame number rounded", "onset missing: apex used", "offset past the last frame: clamped",
            "workbook chosen", "video without annotations", "apex -1: not annotated"} <= categories
    assert [n.text for n in index.notes if n.category == "annotation sheet read"] == [
        "sheet 'FACS_Movement_Only' of SAMM_LongVideos_V2_Release.xlsx (header on row 10)"]


@pytest.mark.parametrize("file_name, sheet_name", [("SAMM_LongVideos_V2_Release.xlsx", "Sheet1"),
                                                   ("samm long videos labels.xlsx", "FACS_Movement_Only"),
                                                   ("my_copy.xlsx", "Sheet1")])
def test_samm_lv_workbook_is_found_by_its_columns(tmp_path, file_name, sheet_name):
    base = samm_lv(tmp_path) / "SAMM_LV"
    for path in base.glob("*.xlsx"):
        path.unlink()
    notes = [["SAMM Long Videos"]] + [[] for _ in range(7)] + [["notes end"]]
    save_workbook(base / file_name, {"Cover": [["SAMM Long Videos, re-saved"]],
                                     sheet_name: notes + [SAMM_HEADER] + SAMM_ROWS})
    save_workbook(base / "unrelated.xlsx", {"Sheet1": [["Subject", "Filename", "Score"], [6, "006_1", 3]]})
    index = load_long_videos(tmp_path, "SAMM_LV")
    assert spans({v.video_id: v for v in index.videos}["006_1"])[1] == (50, 70, "macro")
    assert [n.text for n in index.notes if n.category == "annotation sheet read"] == [
        f"sheet {sheet_name!r} of {file_name} (header on row 10)"]


def test_samm_lv_two_equal_workbooks_are_refused(tmp_path):
    base = samm_lv(tmp_path) / "SAMM_LV"
    (base / "SAMM_LongVideos_V1_Release.xlsx").unlink()
    save_workbook(base / "copy_a.xlsx", {"Sheet1": [SAMM_HEADER] + SAMM_ROWS})
    save_workbook(base / "copy_b.xlsx", {"Sheet1": [SAMM_HEADER] + SAMM_ROWS})
    (base / "SAMM_LongVideos_V2_Release.xlsx").unlink()
    with pytest.raises(DatasetError, match="several sheets.*keep one") as caught:
        load_long_videos(tmp_path, "SAMM_LV")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("breakage, needle", [
    ("no Type column", "'Type'"),
    ("bad frame number", "'abc'"),
    ("offset before onset", "offset 5 is before onset 10"),
    ("unknown type", "'Mega'"),
    ("video folder missing", "007_1"),
])
def test_samm_lv_errors_name_the_problem_in_one_line(tmp_path, breakage, needle):
    rows = [list(r) for r in SAMM_ROWS]
    header = list(SAMM_HEADER)
    if breakage == "no Type column":
        header[7] = "Kind"
    if breakage == "bad frame number":
        rows[0][3] = "abc"
    if breakage == "offset before onset":
        rows[0][3], rows[0][5] = 10, 5
    if breakage == "unknown type":
        rows[0][7] = "Mega"
    if breakage == "video folder missing":
        rows.append([7, "007_1_1", 1, 5, 6, 7, 3, "Macro", "", ""])
    samm_lv(tmp_path, rows=rows, header=header)
    with pytest.raises(DatasetError) as caught:
        load_long_videos(tmp_path, "SAMM_LV")
    message = str(caught.value)
    assert needle in message and "\n" not in message and "SAMM" in message


# ------------------------------------------------------------------------------------------- CAS(ME)^3 A

CASME3_HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Expression type", "Objective class"]
CASME3_ROWS = [
    ["spNO.1", "a", "0", "-1", "3", "4", "micro-expression", "1"],      # onset 0 is a real frame here
    ["spNO.1", "a", "10", "15", "30", "12", "Macro-expression", "2"],
    ["spNO.2", "b", "4", "6", "8", "1", "ME", "3"],                     # the folder is spNo.2 on disk
]
A_NUMBERS = [0, 1, 2, 3, 5, 6] + list(range(8, 41))                     # numbers 4 and 7 are missing


def casme3_a(root: Path, rows=None, with_blinks: bool = True) -> Path:
    part = root / "CASME3_A" / "part_A"
    frames(part / "spNO.1" / "a" / "color", [f"{n}.jpg" for n in A_NUMBERS])
    frames(part / "spNo.2" / "b" / "color", [f"{n}.jpg" for n in range(21)])
    frames(part / "spNO.1" / "c" / "color", [f"{n}.jpg" for n in range(11)])           # no labels
    sheets = {"AU+Emotion": [CASME3_HEADER] + (CASME3_ROWS if rows is None else rows)}
    if with_blinks:
        sheets["eye blink"] = [["Subject", "Filename", "Onset", "Offset"], ["spNO.1", "a", "20", "24"]]
    save_workbook(root / "CASME3_A" / "annotation" / "part_A_labels.xlsx", sheets)
    save_workbook(root / "CASME3_A" / "other.xlsx", {"Sheet": [["not the annotation"]]})      # ignored
    return root


def test_casme3_a_reads_every_pitfall(tmp_path):
    index = load_long_videos(casme3_a(tmp_path), "CASME3_A")
    videos = {v.video_id: v for v in index.videos}
    assert sorted(videos) == ["spNO.1/a", "spNO.1/c", "spNo.2/b"]
    a = videos["spNO.1/a"]
    assert spans(a) == [(0, 3, "micro"), (10, 30, "macro")]
    assert a.intervals[0].apex is None and a.fps == 30.0
    assert [(b.onset, b.offset) for b in a.blinks] == [(20, 24)]
    assert a.numbers == tuple(A_NUMBERS)
    assert spans(videos["spNo.2/b"]) == [(4, 8, "micro")]
    assert videos["spNO.1/c"].intervals == ()
    assert "folder name case differs" in {n.category for n in index.notes}


def test_a_gap_in_the_numbering_is_a_gap_in_time(tmp_path):
    video = {v.video_id: v for v in load_long_videos(casme3_a(tmp_path), "CASME3_A").videos}["spNO.1/a"]
    source = LongVideoSource(video)
    source.open()
    stamps = [source.read().timestamp for _ in range(8)]
    source.close()
    assert stamps == pytest.approx([0, 1 / 30, 2 / 30, 3 / 30, 5 / 30, 6 / 30, 8 / 30, 9 / 30])
    assert video.number_at(4.2 / 30) == 5 and video.number_at(3.8 / 30) == 3
    assert video.number_at(-1.0) == 0 and video.number_at(99.0) == 40
    assert video.time_of(8) == pytest.approx(8 / 30) and video.duration_s == pytest.approx(41 / 30)


# The published part A workbook: micro rows only (no type column), text frame numbers counted from 0, one
# row with its offset before its onset and two with offset 0 (REFERENCE.md); its columns as users have them.
PUBLISHED_HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
PUBLISHED_ROWS = [
    ["spNO.1", "a", "0", "2", "3", "4", "1", "disgust"],         # onset 0: a real frame
    ["spNO.1", "a", "12", "14", "0", "4", "1", "disgust"],       # offset 0: a real frame, before the onset
    ["spNO.1", "a", "30", "27", "25", "12", "2", "happy"],       # offset before onset
    ["spNO.2", "b", "0", "0", "0", "1", "3", "surprise"],        # offset 0 after onset 0: one frame, kept
    ["spNO.2", "b", "5", "7", "0", "1", "3", "surprise"],        # offset 0 again
    ["spNO.2", "b", "9", "11", "14", "1", "3", "surprise"],
]


def test_casme3_a_reads_the_published_workbook(tmp_path):
    casme3_a(tmp_path)
    (tmp_path / "CASME3_A" / "annotation" / "part_A_labels.xlsx").unlink()
    save_workbook(tmp_path / "CASME3_A" / "annotation" / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
                  {"label": [PUBLISHED_HEADER] + PUBLISHED_ROWS})
    index = load_long_videos(tmp_path, "CASME3_A")
    videos = {v.video_id: v for v in index.videos}
    assert spans(videos["spNO.1/a"]) == [(0, 3, "micro")]
    assert spans(videos["spNo.2/b"]) == [(0, 0, "micro"), (9, 14, "micro")]
    left_out = [n.text for n in index.notes if n.category == "row left out: offset before onset"]
    assert len(left_out) == 3                                       # counted in the report's notes
    assert "row 3 " in left_out[0] and "onset 12, offset 0" in left_out[0]
    assert "row 4 " in left_out[1] and "onset 30, offset 25" in left_out[1]
    assert "row 6 " in left_out[2] and "spNo.2/b" in left_out[2]
    categories = {n.category for n in index.notes}
    assert {"no type column: every row is micro", "annotation sheet read", "no blink sheet"} <= categories
    assert any("cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx" in n.text for n in index.notes
               if n.category == "annotation sheet read")


def test_casme3_a_without_blink_sheet_is_noted(tmp_path):
    index = load_long_videos(casme3_a(tmp_path, with_blinks=False), "CASME3_A")
    assert "no blink sheet" in {n.category for n in index.notes}


@pytest.mark.parametrize("breakage, needle", [
    ("no workbook", "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"),
    ("listed video missing", "spNO.9/a"),
    ("onset past the video", "lies outside"),
])
def test_casme3_a_errors_name_the_problem_in_one_line(tmp_path, breakage, needle):
    rows = [list(r) for r in CASME3_ROWS]
    if breakage == "listed video missing":
        rows.append(["spNO.9", "a", "1", "2", "3", "", "ME", ""])
    if breakage == "onset past the video":
        rows[1][2], rows[1][4] = "90", "95"
    casme3_a(tmp_path, rows=rows)
    if breakage == "no workbook":
        (tmp_path / "CASME3_A" / "annotation" / "part_A_labels.xlsx").unlink()
    with pytest.raises(DatasetError) as caught:
        load_long_videos(tmp_path, "CASME3_A")
    message = str(caught.value)
    assert needle in message and "\n" not in message


def test_unknown_dataset_and_missing_data_path(tmp_path):
    with pytest.raises(DatasetError, match="CASME_SQ, SAMM_LV, CASME3_A"):
        load_long_videos(tmp_path, "CASME2")
    with pytest.raises(DatasetError, match="not a folder"):
        load_long_videos(tmp_path / "nowhere", "SAMM_LV")


# ------------------------------------------------------------------------------------------- generator

SHORT = dict(counts={"micro": (2, 2), "macro": (1, 1), "blink": (1, 1)}, lead_in_s=(0.6, 0.6), gap_s=(0.3, 0.3),
             frame_size=(24, 32), crop=True, pitfalls=True)


@pytest.mark.parametrize("name", ["CASME_SQ", "SAMM_LV", "CASME3_A"])
def test_synthetic_long_videos_read_back_as_written(tmp_path, name):
    from mer_live.spot_eval.synthetic import make_long_videos

    made = make_long_videos(tmp_path, name, videos=1 if name == "SAMM_LV" else 3, seed=3, **SHORT)
    index = load_long_videos(tmp_path, name)
    read = {v.video_id: v for v in index.videos}
    assert sorted(read) == sorted(v.video_id for v in made.videos)     # the duplicate folder is left out
    for video in made.videos:
        got = read[video.video_id]
        assert spans(got) == [(i.onset, i.offset, i.kind) for i in video.expected]
        assert [(b.onset, b.offset) for b in got.blinks] == [(b.onset, b.offset) for b in video.blinks]
        assert got.numbers == video.numbers
    assert any(i.kind == "micro" for v in made.videos for i in v.truth)
    assert any(i.kind == "macro" for v in made.videos for i in v.truth)
