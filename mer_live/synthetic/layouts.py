"""The real datasets' layouts, written with synthetic clips: frame trees and coding sheets.

Layouts (see mer_live.datasets.catalog): SMIC `root/SMIC_CROP/HS/s{N}/micro/{class}/s{N}_{code}_{NN}/image{n}.bmp`,
CASME II `root/CASME2/Cropped/sub{NN}/{Filename}/img{n}.jpg` + coding sheet, SAMM
`root/SAMM/SAMM_CROP/{NNN}/{Filename}/{NNN}_{nnnnn}.jpg` + FACS sheet with 13 preamble rows. Frame numbers
are partly not zero-padded (img99, img100) so string order differs from time order. With raw=True the
frames are uncropped (face in a larger frame with background) under `root/SMIC/HS/...` or
`root/SAMM/SAMM/...`, for `mer-prepare --dir root/SMIC` (or root/SAMM/SAMM).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from mer_live.datasets import catalog
from mer_live.frames import write_frame
from mer_live.synthetic.render import (MOTIONS, crop_to_frame_scale, motion_field, motion_for, random_look,
                                       render_frames, render_still, rise_and_fall)


SYNTH_MARKER = ".mer-synth"   # in each dataset folder mer-synth writes: only such folders are written into again


class NotSyntheticError(ValueError):
    """The dataset folder exists and was not written by mer-synth (a real dataset, a mer-prepare output)."""


def check_synthetic_folder(top: Path) -> None:
    """Refuse to write a synthetic dataset into `top` unless it is new, empty, or mer-synth's own (it holds
    SYNTH_MARKER): writing there replaces coding sheets and frames, and a real dataset's must never be."""
    if not top.exists() or (top / SYNTH_MARKER).is_file():
        return
    if top.is_dir() and not any(top.iterdir()):
        return
    raise NotSyntheticError(f"{top} exists and was not written by mer-synth (it may hold a real dataset, whose "
                            "coding sheet and frames would be replaced); give mer-synth a new or empty ROOT folder")


@dataclasses.dataclass(frozen=True)
class SyntheticClip:
    subject: str                  # canonical id ("s01", "sub01", "006")
    clip_id: str
    label_name: str               # the emotion as the dataset writes it (e.g. "ne", "happiness", "Other")
    frames: tuple[Path, ...]      # in temporal order
    face_box: tuple[float, float, float, float]  # where the face is in the frames (MTCNN-style box)
    onset: int
    apex: int
    offset: int
    amplitude_px: float


@dataclasses.dataclass(frozen=True)
class SyntheticDataset:
    name: str
    root: Path                    # DATA_PATH: load_dataset(root, name) reads it (cropped variant)
    folder: Path                  # top of the frame tree: SMIC_CROP, CASME2/Cropped, SAMM/SAMM_CROP; raw: the
                                  # folder to give `mer-prepare --dir` (SMIC, SAMM/SAMM)
    raw: bool
    clips: tuple[SyntheticClip, ...]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for clip in self.clips:
            out[clip.label_name] = out.get(clip.label_name, 0) + 1
        return out


def _clip_plan(name: str, count_per_class: int, dropped_per_subject: int, subject_index: int) -> list[str]:
    """The emotions (as the dataset writes them) of one subject's clips."""
    written = {"SAMM": {"Others": "Other"}}.get(name, {})
    plan = [written.get(c, c) for c in catalog.CLASS_NAMES[name] for _ in range(count_per_class)]
    dropped = catalog.DROPPED_EMOTIONS.get(name, ())
    plan += [dropped[(subject_index + i) % len(dropped)] for i in range(dropped_per_subject)] if dropped else []
    return plan


def make_dataset(root: str | os.PathLike, name: str, subjects: int = 4, clips_per_class: int = 2, seed: int = 0,
                 raw: bool = False, image_size: int = 64, raw_size: tuple[int, int] = (240, 320),
                 frames_range: tuple[int, int] = (10, 30), dropped_per_subject: int = 1,
                 noise: float = 1.0) -> SyntheticDataset:
    """Write a small synthetic `name` dataset (SMIC, CASME2, SAMM) in its real layout under `root`.

    subjects: how many of the dataset's real LOSO subject ids to use (in order); clips_per_class per
    subject and class; dropped_per_subject extra clips per subject with an emotion outside the class map
    (CASME II fear/sadness, SAMM Disgust/Fear/Sadness; SMIC has none). Clip lengths are drawn from
    frames_range (inclusive). Cropped frames are image_size square; raw frames raw_size (H, W).
    Raises NotSyntheticError, before writing anything, when the dataset's folder under `root` holds files
    that mer-synth did not write.
    """
    if name not in catalog.SOURCE_DATASETS:
        raise ValueError(f"synthetic data exists for {catalog.SOURCE_DATASETS}, not {name!r}")
    if raw and name not in catalog.RAW_DIRS:
        raise ValueError(f"no raw layout for {name}: it ships its own cropped frames; use raw=False")
    numbers = catalog.LOSO_SUBJECT_NUMBERS[name]
    if not 1 <= subjects <= len(numbers):
        raise ValueError(f"subjects must be 1..{len(numbers)} for {name}, got {subjects}")
    lo, hi = frames_range
    if not 3 <= lo <= hi:
        raise ValueError(f"frames_range must be (min, max) with 3 <= min <= max, got {frames_range}")
    root = Path(root)
    out_hw = tuple(raw_size) if raw else (image_size, image_size)
    ds_index = catalog.SOURCE_DATASETS.index(name)
    if raw:
        folder = root.joinpath(*catalog.RAW_DIRS[name])
    else:
        folder = root.joinpath(*{"SMIC": catalog.SMIC_FRAMES_DIR[:1], "CASME2": catalog.CASME2_FRAMES_DIR,
                                 "SAMM": catalog.SAMM_FRAMES_DIR}[name])
    top = root / folder.relative_to(root).parts[0]      # SMIC_CROP, SMIC, CASME2 or SAMM
    check_synthetic_folder(top)
    top.mkdir(parents=True, exist_ok=True)
    (top / SYNTH_MARKER).write_text("written by mer-synth: synthetic frames and sheets, safe to replace\n",
                                    encoding="utf-8")
    clips: list[SyntheticClip] = []
    for subject_index, subject_number in enumerate(numbers[:subjects]):
        subject = catalog.subject_id(name, subject_number)
        look = random_look(np.random.default_rng([seed, ds_index, subject_number]), out_hw, raw)
        base = render_still(look)
        fields: dict[str, np.ndarray] = {}
        for k, emotion in enumerate(_clip_plan(name, clips_per_class, dropped_per_subject, subject_index)):
            rng = np.random.default_rng([seed, ds_index, subject_number, k + 1])
            length = int(rng.integers(lo, hi + 1))
            apex_index = int(rng.integers(max(1, length // 3), max(2, (2 * length) // 3) + 1))
            amplitude = float(rng.uniform(1.0, 3.0))
            motion = motion_for(emotion, name)
            if motion not in fields:
                fields[motion] = motion_field(look, MOTIONS[motion])
            frames = render_frames(look, base, fields[motion],
                                    rise_and_fall(length, apex_index) * amplitude * crop_to_frame_scale(look), rng, noise)
            clip_dir, clip_id, numbers_on_disk, names = _clip_names(name, folder, subject_number, emotion, k, rng,
                                                                    length)
            paths = tuple(clip_dir / n for n in names)
            for path, frame in zip(paths, frames):
                write_frame(path, frame)
            clips.append(SyntheticClip(subject=subject, clip_id=clip_id, label_name=emotion, frames=paths,
                                       face_box=look.face_box(), onset=numbers_on_disk[0],
                                       apex=numbers_on_disk[apex_index], offset=numbers_on_disk[-1],
                                       amplitude_px=amplitude))
    if name == "CASME2":
        _write_casme2_sheet(root.joinpath(*catalog.CASME2_SHEET), clips)
    elif name == "SAMM":
        _write_samm_sheet((folder / catalog.SAMM_SHEET[-1]), clips)
    return SyntheticDataset(name=name, root=root, folder=folder, raw=raw, clips=tuple(clips))


def _clip_names(name: str, folder: Path, subject_number: int, emotion: str, k: int, rng: np.random.Generator,
                length: int):
    """(clip folder, clip id, frame numbers, file names) in the dataset's naming."""
    if name == "SMIC":
        code = emotion
        clip_id = f"s{subject_number}_{code}_{k + 1:02d}"
        clip_dir = folder / "HS" / f"s{subject_number}" / "micro" / catalog.SMIC_CLASS_FOLDERS[code] / clip_id
        if subject_number % 2:  # odd subjects: unpadded numbers across 99 -> 100 (string order != time order)
            first = int(rng.integers(91, 100))
            numbers = list(range(first, first + length))
            names = [f"image{n}.bmp" for n in numbers]
        else:  # even subjects: SMIC's own six-digit numbering
            first = int(rng.integers(40000, 60000))
            numbers = list(range(first, first + length))
            names = [f"image{n:06d}.bmp" for n in numbers]
        return clip_dir, clip_id, numbers, names
    if name == "CASME2":
        clip_id = f"EP{k + 1:02d}_{subject_number:02d}f"
        first = int(rng.integers(90, 100))
        numbers = list(range(first, first + length))
        return folder / f"sub{subject_number:02d}" / clip_id, clip_id, numbers, [f"img{n}.jpg" for n in numbers]
    subject = f"{subject_number:03d}"
    clip_id = f"{subject}_{k // 3 + 1}_{k % 3 + 1}"
    first = int(rng.integers(1000, 9000))
    numbers = list(range(first, first + length))
    return folder / subject / clip_id, clip_id, numbers, [f"{subject}_{n:05d}.jpg" for n in numbers]


def save_workbook(path: Path, sheets: dict[str, list[list]]) -> None:
    """An .xlsx with one sheet per item, in order (title -> rows of cells), written atomically: the sheets
    of every synthetic dataset, short and long videos alike."""
    import openpyxl

    from mer_live.atomic import atomic_path

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        workbook.save(tmp)


def _write_casme2_sheet(path: Path, clips: Sequence[SyntheticClip]) -> None:
    rows = [["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]]
    for clip in clips:
        rows.append([clip.subject[3:], clip.clip_id, clip.onset, clip.apex, clip.offset, "4", clip.label_name])
    save_workbook(path, {"Sheet": rows})


def _write_samm_sheet(path: Path, clips: Sequence[SyntheticClip]) -> None:
    preamble = [["SAMM Micro-Movement Database (synthetic stand-in written by mer-synth)"], [],
                ["Facial Action Coding System codes of micro-movements"], []] + [[] for _ in range(8)]
    preamble.append(["Onset, apex and offset are frame numbers; Estimated Emotion is the coders' estimate."])
    assert len(preamble) == catalog.SAMM_SHEET_PREAMBLE_ROWS
    header = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
              "Type", "Action Units", "Notes", "Estimated Emotion"]
    rows = [[clip.subject, clip.clip_id, 1, clip.onset, clip.apex, clip.offset, clip.offset - clip.onset + 1,
             "Micro - 1/2", "4", "", clip.label_name] for clip in clips]
    save_workbook(path, {"Sheet": preamble + [header] + rows})
