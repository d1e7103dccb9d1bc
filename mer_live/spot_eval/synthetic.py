"""Synthetic long videos in the layouts of CAS(ME)^2, SAMM Long Videos and CAS(ME)^3 part A, with their
annotation workbooks: the held-out data of `benchmarks/bench_spotting.py` and of the tests.

Each video is a face (the astronaut photo at its own size, position, mirroring and brightness, or any face
photo given) doing micro-expressions (0.2-0.5 s, 1-3 px in a 64-px face crop, at brows, lids, nose, mouth
corners, chin, cheeks), macro-expressions (1-4 s, a 2 s smile among them), and what a live spotter must not
report: a head drift (about 30 px over 1.5 s at 320x240), blinks (annotated in CAS(ME)^3's "eye blink"
sheet), a 4-6 degree in-plane head turn, a lighting step and talking; noise, sway and timings differ per
video (synthetic_script, synthetic_render). Everything is deterministic from `seed`.

This generator is independent of the one the spotter is tuned on (mer_live/synthetic/distractors.py): the
figures it gives are held-out figures. `pitfalls=True` also writes the sheets' known irregularities
(offset 0, apex 0 or -1, onset 0, offsets past the end, folder-name case, the unlabeled duplicate folder),
for the readers' tests; `SyntheticVideo.expected` is then what a reader must make of them.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from mer_live.progress import progress
from mer_live.spot_eval import catalog
from mer_live.spot_eval.records import Interval
from mer_live.spot_eval.synthetic_faces import FaceImage, astronaut_face
from mer_live.spot_eval.synthetic_render import Renderer, draw_look
from mer_live.spot_eval.synthetic_script import Script, draw_script
from mer_live.synthetic.layouts import save_workbook

# CAS(ME)^2 video names: (name prefix in CASFEcode_final, video code in naming rule2, words in the folder)
CASME_SQ_VIDEOS = (("anger1", "0401", "girlcrashing"), ("disgust1", "0101", "disgustingteeth"),
                   ("happy1", "0502", "funnyerrors"), ("disgust2", "0102", "eatingworms"),
                   ("anger2", "0402", "stealingbag"), ("happy2", "0503", "funnyinnocent"))
DISTRACTORS_ONLY = {"blink": (3, 6), "drift": (1, 1), "turn": (1, 1), "light": (1, 1), "talk": (1, 2)}


@dataclasses.dataclass(frozen=True)
class SyntheticVideo:
    video_id: str                       # as the reader names it
    folder: Path                        # the folder holding its frames
    numbers: tuple[int, ...]            # frame numbers written
    fps: float
    truth: tuple[Interval, ...]         # micro/macro as rendered (frame numbers)
    expected: tuple[Interval, ...]      # what a reader must return (differs from truth only with pitfalls)
    blinks: tuple[Interval, ...]
    script: Script
    face: str
    labeled: bool                       # listed in the workbook

    def drawn(self) -> list[tuple[str, int, int]]:
        """(kind, first, last frame number) of everything the script made the face do, distractors included
        (frame number = the first number + the script's frame index, in every layout)."""
        return [(a.kind, self.numbers[0] + a.start, self.numbers[0] + a.end) for a in self.script.actions]


@dataclasses.dataclass(frozen=True)
class SyntheticLongDataset:
    name: str
    root: Path                          # DATA_PATH
    sheet: Path
    videos: tuple[SyntheticVideo, ...]
    extra_folders: tuple[Path, ...] = ()    # pitfalls: folders the reader must leave out


def make_long_videos(root: str | os.PathLike, name: str, videos: int = 3, seed: int = 0,
                     frame_size: tuple[int, int] = (240, 320), crop: bool = False,
                     faces: Sequence[FaceImage] = (), counts: dict | None = None, unlabeled: int = 0,
                     pitfalls: bool = False, lead_in_s: tuple[float, float] = (2.5, 3.5),
                     gap_s: tuple[float, float] = (0.8, 2.0), quiet: bool = True) -> SyntheticLongDataset:
    """Write `videos` annotated videos (+ `unlabeled` ones holding only distractors) of dataset `name`
    (catalog.SPOT_DATASETS) under `root`, with the workbook. `faces`: face photos used in turn with the
    astronaut; `crop=True`: frames are face crops (for `--face full`); `counts`: how many of each action
    per video (synthetic_script.DEFAULT_COUNTS); `lead_in_s`, `gap_s`: the still start and the pauses
    between actions (seconds, drawn from the range). Frames are plain writes (a killed run leaves a partial
    tree: write into a fresh folder); the workbook is written atomically, last."""
    if name not in catalog.SPOT_DATASETS:
        raise ValueError(f"synthetic long videos exist for {catalog.SPOT_DATASETS}, not {name!r}")
    if videos < 1 or unlabeled < 0:
        raise ValueError(f"videos must be >= 1 and unlabeled >= 0, got {videos} and {unlabeled}")
    root = Path(root)
    fps = catalog.FPS[name]
    face_pool = [astronaut_face(), *faces]
    plans = []
    for k in range(videos + unlabeled):
        rng = np.random.default_rng([seed, catalog.SPOT_DATASETS.index(name), k])
        script = draw_script(rng, fps, counts if k < videos else DISTRACTORS_ONLY, lead_in_s=lead_in_s, gap_s=gap_s)
        look = draw_look(rng, tuple(frame_size), crop=crop)
        plans.append((k, rng, script, look, face_pool[k % len(face_pool)], k < videos))
    bar = progress(total=sum(p[2].frames for p in plans), unit="frame", desc=f"synthetic {name}", disable=quiet)
    try:
        layout = {"CASME_SQ": _CasmeSq, "SAMM_LV": _SammLv, "CASME3_A": _Casme3A}[name](root, pitfalls)
        made = [layout.write_video(*plan, bar=bar) for plan in plans]
    finally:
        bar.close()
    sheet, made, extra = layout.finish(made)
    return SyntheticLongDataset(name=name, root=root, sheet=sheet, videos=tuple(made), extra_folders=extra)


def _render(folder: Path, names: Sequence[str], keep: Sequence[int], script: Script, look, face: FaceImage,
            seed: int, quality: int, gray: bool, bar) -> None:
    """Render every frame of the script and write those whose index is in `keep` as `names[index]`."""
    renderer = Renderer(face, look, script, seed)
    keep_set = set(keep)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(script.frames):
        rgb = renderer.frame(i)             # rendered even when dropped: the noise stream stays the same
        if i in keep_set:
            image = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if gray else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
            ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
            if not ok:
                raise ValueError(f"cannot encode frame {i} of {folder}")
            (folder / names[i]).write_bytes(data.tobytes())
        bar.update(1)


def _intervals(script: Script, numbers: Sequence[int], kinds: Sequence[str]) -> tuple[Interval, ...]:
    """The script's truth of `kinds` in frame numbers (index i of the script is frame number numbers[i])."""
    return tuple(Interval(onset=numbers[on], offset=numbers[off], kind=kind, apex=numbers[apex])
                 for kind, on, apex, off in script.truth() if kind in kinds)


class _CasmeSq:
    """rawpic/s15/15_0401girlcrashing/img001.jpg + CAS(ME)^2code_final.xlsx (three sheets, no headers)."""

    def __init__(self, root: Path, pitfalls: bool):
        self.root, self.pitfalls = root, pitfalls
        self.rawpic = root.joinpath(*catalog.CASME_SQ_FRAMES_DIR)
        self.rows: list[list] = []
        self.subjects = 0

    def write_video(self, k, rng, script, look, face, labeled, bar) -> SyntheticVideo:
        subject = 15 + k // 2
        prefix, code, words = CASME_SQ_VIDEOS[k % len(CASME_SQ_VIDEOS)]
        folder = self.rawpic / f"s{subject}" / f"{subject}_{code}{words}"
        numbers = list(range(1, script.frames + 1))
        _render(folder, [f"img{n:03d}.jpg" for n in numbers], range(script.frames), script, look, face,
                int(rng.integers(2**31)), int(rng.integers(85, 96)), False, bar)
        truth = _intervals(script, numbers, ("micro", "macro"))
        expected = list(truth)
        for m, interval in enumerate(truth if labeled else ()):
            onset, apex, offset = interval.onset, interval.apex, interval.offset
            if self.pitfalls and m == 0:
                apex = 0                                      # apex 0: not coded, harmless
            if self.pitfalls and m == 1:
                offset = 0                                    # offset 0: the reader uses the apex
                expected[m] = dataclasses.replace(expected[m], offset=interval.apex)
            kind = f"{interval.kind}-expression"
            self.rows.append([k // 2 + 1, f"{prefix}_{m + 1}", onset, apex, offset, "4+12", "others", kind, ""])
        self.subjects = max(self.subjects, k // 2 + 1)
        return SyntheticVideo(video_id=f"s{subject}/{folder.name}", folder=folder, numbers=tuple(numbers),
                              fps=script.fps,
                              truth=truth if labeled else (), expected=tuple(expected) if labeled else (), blinks=(),
                              script=script, face=face.name, labeled=labeled)

    def finish(self, made):
        extra = ()
        if self.pitfalls:     # an unlabeled copy of the first video in another subject's folder
            first = made[0]
            copy = self.rawpic / f"s{15 + self.subjects}" / first.folder.name
            shutil.copytree(first.folder, copy, dirs_exist_ok=True)
            extra = (copy,)
        subjects = [[15 + j, f"s{15 + j}", j + 1] for j in range(self.subjects + 1)]
        codes = [[code, prefix] for prefix, code, _ in CASME_SQ_VIDEOS]
        sheet = self.root.joinpath(*catalog.CASME_SQ_SHEET)
        save_workbook(sheet, {catalog.CASME_SQ_CODES_SHEET: self.rows, catalog.CASME_SQ_SUBJECTS_SHEET: subjects,
                               catalog.CASME_SQ_VIDEOS_SHEET: codes})
        return sheet, made, extra


class _SammLv:
    """SAMM_longvideos/006_1/006_1_0001.jpg (grey) + SAMM_LongVideos_V2_Release.xlsx (9 note rows)."""

    def __init__(self, root: Path, pitfalls: bool):
        self.root, self.pitfalls = root, pitfalls
        self.frames_root = root.joinpath(*catalog.SAMM_LV_FRAMES_DIR)
        self.rows: list[list] = []

    def write_video(self, k, rng, script, look, face, labeled, bar) -> SyntheticVideo:
        subject = 6 + k // 2
        video_id = f"{subject:03d}_{k % 2 + 1}"
        folder = self.frames_root / video_id
        numbers = list(range(1, script.frames + 1))
        _render(folder, [f"{video_id}_{n:04d}.jpg" for n in numbers], range(script.frames), script, look, face,
                int(rng.integers(2**31)), int(rng.integers(85, 96)), True, bar)
        truth = _intervals(script, numbers, ("micro", "macro"))
        expected = list(truth)
        for m, interval in enumerate(truth if labeled else ()):
            onset, apex, offset = interval.onset, interval.apex, interval.offset
            if m % 3 == 1:                                    # fractional numbers that round back
                onset, offset = onset + 0.3, offset - 0.4
            if self.pitfalls and m == 0:
                apex = -1
            if self.pitfalls and m == 2:                      # onset 0: the reader uses the apex
                onset = 0
                expected[m] = dataclasses.replace(expected[m], onset=interval.apex)
            if self.pitfalls and m == len(truth) - 1:         # offset past the last frame: clamped
                offset = numbers[-1] + 40
                expected[m] = dataclasses.replace(expected[m], offset=numbers[-1])
            kind = "Micro - 1/2" if interval.kind == "micro" else "Macro"
            self.rows.append([subject, f"{video_id}_{m + 1}", 1, onset, apex, offset,
                              interval.offset - interval.onset + 1, kind, "AU4", ""])
        return SyntheticVideo(video_id=video_id, folder=folder, numbers=tuple(numbers), fps=script.fps,
                              truth=truth if labeled else (), expected=tuple(expected) if labeled else (), blinks=(),
                              script=script, face=face.name, labeled=labeled)

    def finish(self, made):
        notes = [["SAMM Long Videos (synthetic stand-in written by mer_live.spot_eval.synthetic)"], [],
                 ["FACS coding of all movements"]] + [[] for _ in range(catalog.SAMM_LV_NOTE_ROWS - 4)]
        notes.append(["Onset, Apex and Offset are frame numbers; Apex -1: not coded."])
        header = ["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type",
                  "Action Units", "Notes"]
        sheet = self.root.joinpath(*catalog.SAMM_LV_DIR, "SAMM_LongVideos_V2_Release.xlsx")
        save_workbook(sheet, {catalog.SAMM_LV_SHEET_NAME: notes + [header] + self.rows})
        return sheet, made, ()


class _Casme3A:
    """part_A/spNO.1/a/color/0.jpg (numbers from 0, with gaps) + a workbook with "AU+Emotion" and
    "eye blink" sheets (frame numbers as text)."""

    def __init__(self, root: Path, pitfalls: bool):
        self.root, self.pitfalls = root, pitfalls
        self.frames_root = root.joinpath(*catalog.CASME3_A_FRAMES_DIR)
        self.rows: list[list] = []
        self.blink_rows: list[list] = []

    def write_video(self, k, rng, script, look, face, labeled, bar) -> SyntheticVideo:
        subject, clip = f"spNO.{1 + k // 2}", "abcdefghijklm"[k % 2]
        on_disk = subject.replace("NO", "No") if self.pitfalls and k // 2 == 1 else subject
        folder = self.frames_root / on_disk / clip / catalog.CASME3_A_COLOR_DIR
        numbers = list(range(script.frames))                  # frame number = script index (time)
        lost = set(int(i) for i in rng.choice(np.arange(1, script.frames - 1), size=max(1, script.frames // 100),
                                              replace=False))
        keep = [i for i in numbers if i not in lost]
        _render(folder, [f"{n}.jpg" for n in numbers], keep, script, look, face, int(rng.integers(2**31)),
                int(rng.integers(85, 96)), False, bar)
        truth = _intervals(script, numbers, ("micro", "macro"))
        blinks = _intervals(script, numbers, ("blink",))
        expected = list(truth)
        for m, interval in enumerate(truth if labeled else ()):
            kind = "Micro-expression" if interval.kind == "micro" else "Macro-expression"
            apex = "-1" if self.pitfalls and m == 0 else str(interval.apex)
            self.rows.append([subject, clip, str(interval.onset), apex, str(interval.offset), "AU4", kind, "others"])
        if labeled and self.pitfalls and k == 0:              # onset 0 is a real frame here
            self.rows.append([subject, clip, "0", "-1", "2", "AU1", "Macro-expression", "others"])
            expected.append(Interval(onset=0, offset=2, kind="macro"))
        for interval in blinks if labeled else ():
            self.blink_rows.append([subject, clip, str(interval.onset), str(interval.offset)])
        return SyntheticVideo(video_id=f"{on_disk}/{clip}", folder=folder, numbers=tuple(keep), fps=script.fps,
                              truth=truth if labeled else (), expected=tuple(expected) if labeled else (),
                              blinks=blinks if labeled else (), script=script, face=face.name, labeled=labeled)

    def finish(self, made):
        header = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Expression type", "Objective class"]
        sheet = self.root.joinpath(*catalog.CASME3_A_DIR, "annotation", "cas(me)3_part_A_labels.xlsx")
        save_workbook(sheet, {catalog.CASME3_A_LABEL_SHEET: [header] + self.rows,
                               catalog.CASME3_A_BLINK_SHEET: [["Subject", "Filename", "Onset", "Offset"]]
                               + self.blink_rows})
        return sheet, made, ()
