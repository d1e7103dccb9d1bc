"""Synthetic micro-expression data in the real datasets' layouts: the shared fixture for tests, benchmarks and the demo.

Every clip is a real face photo (skimage.data.astronaut(), bundled, no download) with per-subject appearance
(scale, position, brightness, mirroring) and a class-specific LOCAL motion of 1 to 3 pixels that rises and
falls within the clip (brows together, brows up, mouth corners up, ...), made by a smooth displacement field
(cv2.remap). The motions differ per class so a small model can learn them from optical flow; everything is
deterministic from `seed`.

Layouts (see mer_live.datasets.catalog): SMIC `root/SMIC_CROP/HS/s{N}/micro/{class}/s{N}_{code}_{NN}/image{n}.bmp`,
CASME II `root/CASME2/Cropped/sub{NN}/{Filename}/img{n}.jpg` + coding sheet, SAMM
`root/SAMM/SAMM_CROP/{NNN}/{Filename}/{NNN}_{nnnnn}.jpg` + FACS sheet with 13 preamble rows. Frame numbers
are partly not zero-padded (img99, img100) so string order differs from time order. With raw=True the
frames are uncropped (face in a larger frame with background) under `root/SMIC/HS/...` or
`root/SAMM/SAMM/...`, for `mer-prepare --dir root/SMIC` (or root/SAMM/SAMM).
"""
from __future__ import annotations

import dataclasses
import functools
import os
import sys
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from mer_live.atomic import check_writable
from mer_live.choices import ArgumentParser
from mer_live.cli_errors import DEBUG_HELP, command_errors
from mer_live.datasets import catalog
from mer_live.face import DEFAULT_MARGIN, square_box
from mer_live.frames import write_frame

SUPERSAMPLE = 2  # render at 2x and downsample, so sub-pixel motion is not lost to interpolation blur

# skimage.data.astronaut(): MTCNN's face box and facial points (x, y) in its 512x512 pixels.
ASTRONAUT_FACE_BOX = (181.0, 62.0, 268.0, 172.0)
_P = {
    "brow_l": (205, 92), "brow_r": (247, 93), "brow_l_in": (215, 92), "brow_r_in": (236, 93),
    "lid_l": (205, 99), "lid_r": (247, 101), "nose_l": (217, 127), "nose_r": (233, 128),
    "lip_up": (224, 136), "mouth_l": (202, 140), "mouth_r": (246, 142),
}

# Motion primitives: (point, direction (dx, dy), sigma) in astronaut pixels; the field peaks at 1.
MOTIONS: dict[str, tuple[tuple[str, tuple[float, float], float], ...]] = {
    "brows_together": (("brow_l_in", (0.6, 0.8), 8.0), ("brow_r_in", (-0.6, 0.8), 8.0)),
    "brows_up": (("brow_l", (0.0, -1.0), 9.0), ("brow_r", (0.0, -1.0), 9.0)),
    "smile": (("mouth_l", (-0.6, -0.8), 7.0), ("mouth_r", (0.6, -0.8), 7.0)),
    "mouth_down": (("mouth_l", (0.3, 0.95), 7.0), ("mouth_r", (-0.3, 0.95), 7.0)),
    "nose_wrinkle": (("nose_l", (0.0, -1.0), 6.0), ("nose_r", (0.0, -1.0), 6.0), ("lip_up", (0.0, -0.7), 6.0)),
    "contempt": (("mouth_r", (0.6, -0.8), 7.0),),
    "eyes_widen": (("lid_l", (0.0, -1.0), 5.0), ("lid_r", (0.0, -1.0), 5.0)),
    "inner_brows_up": (("brow_l_in", (0.0, -1.0), 6.0), ("brow_r_in", (0.0, -1.0), 6.0),
                       ("mouth_l", (0.0, 0.8), 6.0), ("mouth_r", (0.0, 0.8), 6.0)),
}

# Any class or emotion name of any dataset (lower case) -> its motion; distinct within each dataset.
LABEL_MOTIONS = {
    "ne": "brows_together", "negative": "brows_together", "anger": "brows_together", "others": "brows_together",
    "other": "brows_together",
    "po": "smile", "positive": "smile", "happiness": "smile",
    "sur": "brows_up", "surprise": "brows_up",
    "disgust": "nose_wrinkle", "repression": "mouth_down", "contempt": "contempt",
    "fear": "eyes_widen", "sadness": "inner_brows_up",
}
# SAMM's Others must differ from its Anger (both would be brows_together above).
DATASET_MOTION_OVERRIDES = {"SAMM": {"others": "mouth_down", "other": "mouth_down"}}


def motion_for(label_name: str, dataset: str | None = None) -> str:
    key = label_name.strip().lower()
    override = DATASET_MOTION_OVERRIDES.get(dataset or "", {}).get(key)
    if override:
        return override
    if key not in LABEL_MOTIONS:
        raise ValueError(f"no synthetic motion for label {label_name!r}; known: {sorted(LABEL_MOTIONS)}")
    return LABEL_MOTIONS[key]


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


@dataclasses.dataclass(frozen=True)
class StreamEvent:
    label_name: str
    start_frame: int
    apex_frame: int
    end_frame: int                # last frame of the motion (inclusive)
    start_s: float
    end_s: float
    face_box: tuple[float, float, float, float]


# ---------------------------------------------------------------------------------------------- rendering

@functools.lru_cache(maxsize=1)
def _astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@functools.lru_cache(maxsize=1)
def _head_mask() -> np.ndarray:
    """Soft elliptical mask (float32, 0..1) of the astronaut's head and shoulders, for pasting on a background."""
    mask = np.zeros((512, 512), np.float32)
    cv2.ellipse(mask, (224, 150), (88, 150), 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), 6)


@dataclasses.dataclass(frozen=True)
class _Look:
    """One subject's appearance: astronaut -> frame affine (may mirror), brightness, background."""

    matrix: np.ndarray            # 2x3, astronaut pixels -> output pixels (1x)
    brightness: float
    out_hw: tuple[int, int]
    raw: bool
    background: np.ndarray | None

    def face_box(self) -> tuple[float, float, float, float]:
        x1, y1, x2, y2 = ASTRONAUT_FACE_BOX
        pts = self.map_points(np.array([[x1, y1], [x2, y2]], np.float64))
        return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))

    def map_points(self, pts: np.ndarray) -> np.ndarray:
        return pts @ self.matrix[:, :2].T + self.matrix[:, 2]

    @property
    def face_side(self) -> float:
        return float(abs(np.linalg.det(self.matrix[:, :2])) ** 0.5 * (ASTRONAUT_FACE_BOX[3] - ASTRONAUT_FACE_BOX[1]))


def _look(rng: np.random.Generator, out_hw: tuple[int, int], raw: bool) -> _Look:
    height, width = out_hw
    mirror = bool(rng.random() < 0.5)
    brightness = float(rng.uniform(0.8, 1.2))
    face = np.array(ASTRONAUT_FACE_BOX)
    face_centre = np.array([(face[0] + face[2]) / 2, (face[1] + face[3]) / 2])
    if raw:
        scale = 0.4 * height / (face[3] - face[1]) * rng.uniform(0.85, 1.15)
        centre = np.array([width / 2 + rng.uniform(-0.12, 0.12) * width, height / 2 + rng.uniform(-0.08, 0.08) * height])
    else:
        side = square_box(ASTRONAUT_FACE_BOX, (512, 512), DEFAULT_MARGIN)
        scale = width / (side[2] - side[0]) * rng.uniform(0.92, 1.08)
        centre = np.array([width / 2, height / 2]) + rng.uniform(-0.04, 0.04, 2) * np.array([width, height])
    sx = -scale if mirror else scale
    matrix = np.array([[sx, 0.0, centre[0] - sx * face_centre[0]], [0.0, scale, centre[1] - scale * face_centre[1]]])
    background = _background(rng, out_hw) if raw else None
    return _Look(matrix=matrix, brightness=brightness, out_hw=out_hw, raw=raw, background=background)


def _background(rng: np.random.Generator, out_hw: tuple[int, int]) -> np.ndarray:
    """A smooth coloured backdrop with low-frequency texture (float32 RGB 0..255)."""
    height, width = out_hw
    coarse = rng.uniform(40, 200, size=(4, 5, 3)).astype(np.float32)
    base = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    texture = cv2.resize(rng.normal(0, 10, size=(24, 32, 1)).astype(np.float32), (width, height),
                         interpolation=cv2.INTER_LINEAR)[..., None]
    return np.clip(base + texture, 0, 255)


def _render_base(look: _Look) -> np.ndarray:
    """The subject's still frame at SUPERSAMPLE resolution, float32 RGB."""
    height, width = look.out_hw
    size = (width * SUPERSAMPLE, height * SUPERSAMPLE)
    matrix = look.matrix * np.array([[SUPERSAMPLE], [SUPERSAMPLE]])
    face = cv2.warpAffine(_astronaut(), matrix, size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    if look.raw:
        mask = cv2.warpAffine(_head_mask(), matrix, size, flags=cv2.INTER_LINEAR, borderValue=0.0)[..., None]
        backdrop = cv2.resize(look.background, size, interpolation=cv2.INTER_LINEAR)
        face = face * mask + backdrop * (1.0 - mask)
    return face * look.brightness


def _motion_field(look: _Look, motion: str) -> np.ndarray:
    """Displacement (H*s, W*s, 2) float32 in supersampled pixels per unit amplitude; peak magnitude 1."""
    height, width = look.out_hw[0] * SUPERSAMPLE, look.out_hw[1] * SUPERSAMPLE
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    field = np.zeros((height, width, 2), np.float32)
    linear = look.matrix[:, :2]
    unit_scale = float(abs(np.linalg.det(linear)) ** 0.5) * SUPERSAMPLE
    for point, direction, sigma in MOTIONS[motion]:
        cx, cy = look.map_points(np.array([_P[point]], np.float64))[0] * SUPERSAMPLE
        vec = linear @ np.array(direction)
        vec = vec / (np.linalg.norm(vec) + 1e-12) * np.linalg.norm(direction)
        s = sigma * unit_scale
        bump = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * s * s))
        field[..., 0] += bump * vec[0]
        field[..., 1] += bump * vec[1]
    peak = float(np.sqrt((field ** 2).sum(-1)).max())
    return field / max(peak, 1e-6)


def _profile(length: int, apex_index: int) -> np.ndarray:
    """Rise from 0 at the first frame to 1 at the apex and back to 0 at the last (raised cosine)."""
    t = np.arange(length, dtype=np.float64)
    up = 0.5 * (1 - np.cos(np.pi * t / max(apex_index, 1)))
    down = 0.5 * (1 + np.cos(np.pi * (t - apex_index) / max(length - 1 - apex_index, 1)))
    return np.where(t <= apex_index, up, down).clip(0, 1)


def _render_frames(look: _Look, base: np.ndarray, field: np.ndarray, displacement_px: np.ndarray,
                   rng: np.random.Generator, noise: float) -> np.ndarray:
    """Frames (T, H, W, 3) uint8: the base warped by field * displacement (output pixels) per frame."""
    height, width = look.out_hw
    ys, xs = np.mgrid[0:base.shape[0], 0:base.shape[1]].astype(np.float32)
    frames = np.empty((len(displacement_px), height, width, 3), np.uint8)
    for i, d in enumerate(displacement_px):
        d_ss = float(d) * SUPERSAMPLE
        warped = base if d_ss == 0 else cv2.remap(base, xs - d_ss * field[..., 0], ys - d_ss * field[..., 1],
                                                   interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        small = cv2.resize(warped, (width, height), interpolation=cv2.INTER_AREA)
        if noise > 0:
            small = small + rng.normal(0.0, noise, small.shape).astype(np.float32)
        frames[i] = np.clip(small + 0.5, 0, 255).astype(np.uint8)
    return frames


def _amplitude_scale(look: _Look) -> float:
    """Raw frames: pixels of motion per pixel in a 64-px face crop, so raw and cropped data move alike."""
    if not look.raw:
        return 1.0
    x1, y1, x2, y2 = square_box(look.face_box(), look.out_hw, DEFAULT_MARGIN)
    return (x2 - x1) / 64.0


def synthetic_clip(label_name: str, num_frames: int = 16, image_size: int | tuple[int, int] = 64,
                   seed: int = 0, amplitude_px: float = 2.0, raw: bool = False, dataset: str | None = None,
                   noise: float = 1.0) -> np.ndarray:
    """One clip (T, H, W, 3) RGB uint8 of `label_name`'s motion peaking mid-clip; for tests and the demo."""
    out_hw = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    rng = np.random.default_rng(seed)
    look = _look(rng, out_hw, raw)
    field = _motion_field(look, motion_for(label_name, dataset))
    profile = _profile(num_frames, num_frames // 2) * amplitude_px * _amplitude_scale(look)
    return _render_frames(look, _render_base(look), field, profile, rng, noise)


# ---------------------------------------------------------------------------------------------- datasets

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
    clips: list[SyntheticClip] = []
    for subject_index, subject_number in enumerate(numbers[:subjects]):
        subject = catalog.subject_id(name, subject_number)
        look = _look(np.random.default_rng([seed, ds_index, subject_number]), out_hw, raw)
        base = _render_base(look)
        fields: dict[str, np.ndarray] = {}
        for k, emotion in enumerate(_clip_plan(name, clips_per_class, dropped_per_subject, subject_index)):
            rng = np.random.default_rng([seed, ds_index, subject_number, k + 1])
            length = int(rng.integers(lo, hi + 1))
            apex_index = int(rng.integers(max(1, length // 3), max(2, (2 * length) // 3) + 1))
            amplitude = float(rng.uniform(1.0, 3.0))
            motion = motion_for(emotion, name)
            if motion not in fields:
                fields[motion] = _motion_field(look, motion)
            frames = _render_frames(look, base, fields[motion],
                                    _profile(length, apex_index) * amplitude * _amplitude_scale(look), rng, noise)
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


def _save_workbook(path: Path, rows: list[list]) -> None:
    import openpyxl

    from mer_live.atomic import atomic_path

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        workbook.save(tmp)


def _write_casme2_sheet(path: Path, clips: Sequence[SyntheticClip]) -> None:
    rows = [["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]]
    for clip in clips:
        rows.append([clip.subject[3:], clip.clip_id, clip.onset, clip.apex, clip.offset, "4", clip.label_name])
    _save_workbook(path, rows)


def _write_samm_sheet(path: Path, clips: Sequence[SyntheticClip]) -> None:
    preamble = [["SAMM Micro-Movement Database (synthetic stand-in written by mer-synth)"], [],
                ["Facial Action Coding System codes of micro-movements"], []] + [[] for _ in range(8)]
    preamble.append(["Onset, apex and offset are frame numbers; Estimated Emotion is the coders' estimate."])
    assert len(preamble) == catalog.SAMM_SHEET_PREAMBLE_ROWS
    header = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
              "Type", "Action Units", "Notes", "Estimated Emotion"]
    rows = [[clip.subject, clip.clip_id, 1, clip.onset, clip.apex, clip.offset, clip.offset - clip.onset + 1,
             "Micro - 1/2", "4", "", clip.label_name] for clip in clips]
    _save_workbook(path, preamble + [header] + rows)


# ---------------------------------------------------------------------------------------------- live stream

def make_stream(events: Sequence[tuple[float, str]], duration_s: float, fps: float = 30.0, seed: int = 0,
                frame_size: tuple[int, int] = (240, 320), event_s: float = 0.4, amplitude_px: float = 2.5,
                noise: float = 1.0) -> tuple[np.ndarray, list[StreamEvent]]:
    """A still face in a larger frame with micro-motions at known times: (frames (N, H, W, 3) RGB uint8, truth).

    Each event (start_s, label_name) rises to its apex at start + event_s / 2 and is gone at start + event_s;
    amplitude_px is the peak motion measured in a 64-px face crop (scaled to the frame's face size).
    """
    n = int(round(duration_s * fps))
    if n < 1:
        raise ValueError(f"duration_s * fps must give at least one frame, got {duration_s} s at {fps} fps")
    rng = np.random.default_rng([seed, 99])
    look = _look(rng, tuple(frame_size), raw=True)
    base = _render_base(look)
    span = max(int(round(event_s * fps)), 3)
    scale = amplitude_px * _amplitude_scale(look)
    displacement = np.zeros(n)
    motion_at: list[str | None] = [None] * n
    fields: dict[str, np.ndarray] = {}
    truth: list[StreamEvent] = []
    for start_s, label in sorted(events):
        start = int(round(start_s * fps))
        if not 0 <= start < n:
            raise ValueError(f"event at {start_s} s is outside the stream's {duration_s} s")
        end = min(start + span - 1, n - 1)
        if any(m is not None for m in motion_at[start:end + 1]):
            raise ValueError(f"event at {start_s} s overlaps the previous one; space events >= {event_s} s apart")
        motion = motion_for(label)
        if motion not in fields:
            fields[motion] = _motion_field(look, motion)
        displacement[start:end + 1] = _profile(span, span // 2)[: end - start + 1] * scale
        motion_at[start:end + 1] = [motion] * (end - start + 1)
        truth.append(StreamEvent(label_name=label, start_frame=start, apex_frame=min(start + span // 2, end),
                                 end_frame=end, start_s=start / fps, end_s=(end + 1) / fps, face_box=look.face_box()))
    still = np.zeros(base.shape[:2] + (2,), np.float32)
    frames = np.empty((n, frame_size[0], frame_size[1], 3), np.uint8)
    for i in range(n):
        field = fields[motion_at[i]] if motion_at[i] is not None else still
        frames[i] = _render_frames(look, base, field, displacement[i:i + 1], rng, noise)[0]
    return frames, truth


# ---------------------------------------------------------------------------------------------- CLI

def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="mer-synth", description=__doc__.split("\n")[0])
    parser.add_argument("root", help="folder to write into (the DATA_PATH to give training)")
    parser.add_argument("--dataset", default="all", choices=[*catalog.SOURCE_DATASETS, "all"],
                        help="which layout to write")
    parser.add_argument("--raw", action="store_true", help="uncropped frames for mer-prepare (SMIC, SAMM)")
    parser.add_argument("--subjects", type=int, default=None, help="subjects per dataset (default: all LOSO ones)")
    parser.add_argument("--clips-per-class", type=int, default=3, help="clips per subject and class")
    parser.add_argument("--size", type=int, default=64, help="cropped frame side in pixels")
    parser.add_argument("--frames", type=int, nargs=2, default=(10, 30), metavar=("MIN", "MAX"),
                        help="clip length range in frames")
    parser.add_argument("--seed", type=int, default=0, help="random seed of faces, motions and timings")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    args = parser.parse_args(argv)
    names = catalog.SOURCE_DATASETS if args.dataset == "all" else (args.dataset,)
    if args.raw:
        skipped = [n for n in names if n not in catalog.RAW_DIRS]
        names = tuple(n for n in names if n in catalog.RAW_DIRS)
        if skipped and args.dataset != "all":
            parser.error(f"--raw is not available for {skipped[0]}: it ships its own cropped frames")
        for n in skipped:
            print(f"mer-synth: no raw layout for {n} (it ships cropped frames); skipped", file=sys.stderr)
    from mer_live.progress import progress, write

    with command_errors("mer-synth", debug=args.debug,
                        interrupted="run it again to write every dataset (it writes the same files)") as outcome:
        check_writable(args.root, folder=True)
        for name in progress(names, desc="mer-synth", unit="dataset"):
            subjects = args.subjects or len(catalog.LOSO_SUBJECT_NUMBERS[name])
            try:
                made = make_dataset(args.root, name, subjects=subjects, clips_per_class=args.clips_per_class,
                                    seed=args.seed, raw=args.raw, image_size=args.size, frames_range=tuple(args.frames))
            except ValueError as exc:
                parser.error(str(exc))
            write(f"{name}: {len(made.clips)} clips from {subjects} subjects in {made.folder}", file=sys.stdout)
    return outcome.status


if __name__ == "__main__":
    sys.exit(main())
