"""A second synthetic micro-expression set, built to share nothing with the renderer (`mer_live.synthetic.render`).

Learning figures measured only on the project's own generator do not carry over: that generator renders one
face, and every subject shares each class's motion field. This one varies what a real dataset varies from
person to person, and no motion field is shared by two subjects:

- face: a different real person per subject (scikit-image's bundled LFW subset: 100 gray 25x25 faces,
  no download), with its own scale, position, tilt, mirroring, contrast, brightness and tint;
- motion: small Gaussian displacements at the mouth corners (ne: down, po: up and out) or the brows
  (sur: up), 1 to 1.5 px at apex in the written frames; each subject draws its own sites, widths,
  directions and left/right balance, and each clip its own amplitude;
- noise: Gaussian pixel noise of sigma about 1 grey level (0.6 to 1.4 per subject);
- timing: each subject its own clip lengths, still lead-in, apex position and how far the face returns.

It writes SMIC's cropped layout (`root/SMIC_CROP/HS/s{N}/micro/{class}/s{N}_{code}_{NN}/image{n}.bmp`), so
`mer-train MODEL root SMIC` reads it. Everything is deterministic from `seed`.
"""
from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

import cv2
import numpy as np

from mer_live.datasets import catalog
from mer_live.frames import write_frame

SUPERSAMPLE = 2            # warp at twice the size, then area-downsample: sub-pixel motion survives
AMPLITUDE_PX = (1.0, 1.5)  # displacement at apex, in written pixels
NOISE_SIGMA = (0.6, 1.4)   # per-subject pixel noise (grey levels)
FACES_IN_SUBSET = 100      # lfw_subset(): the first 100 images are faces, the rest are not

# Motion sites as fractions of the face image (x, y), and the direction each class moves them (dx, dy,
# for the subject's left site; the right site mirrors dx). Each subject jitters all of these.
SITES = {"mouth_l": (0.33, 0.76), "mouth_r": (0.67, 0.76), "brow_l": (0.30, 0.27), "brow_r": (0.70, 0.27)}
CLASS_MOTIONS = {
    "ne": (("mouth_l", (-0.25, 1.0)), ("mouth_r", (0.25, 1.0))),     # mouth corners pulled down
    "po": (("mouth_l", (-0.7, -0.7)), ("mouth_r", (0.7, -0.7))),     # mouth corners up and out
    "sur": (("brow_l", (0.0, -1.0)), ("brow_r", (0.0, -1.0))),       # brows raised
}


@dataclasses.dataclass(frozen=True)
class GaussianClip:
    subject: str
    clip_id: str
    label_name: str
    frames: tuple[Path, ...]
    apex_index: int
    amplitude_px: float


@dataclasses.dataclass(frozen=True)
class GaussianDataset:
    root: Path                   # DATA_PATH for `mer-train MODEL root SMIC`
    clips: tuple[GaussianClip, ...]
    faces: dict[str, int]        # subject -> index of its face in skimage.data.lfw_subset()


@dataclasses.dataclass(frozen=True)
class SubjectLook:
    """What one subject's clips share: face image, placement, photometry, noise, motion sites, timing."""

    face: np.ndarray             # (H*s, W*s, 3) float32, supersampled, placed
    sites: dict[str, tuple[float, float]]   # supersampled pixel positions
    directions: dict[str, dict[str, tuple[float, float]]]  # class -> site -> unit direction
    sigma: float                 # bump width, supersampled pixels
    balance: float               # right-site amplitude relative to the left
    noise: float
    amplitude: float             # the subject's typical apex amplitude (written pixels)
    length_range: tuple[int, int]
    lead_in: float               # fraction of the clip before the motion starts
    apex_at: float               # where the apex sits within the motion
    release: float               # fraction of the apex amplitude left at the last frame


@functools.lru_cache(maxsize=1)
def _faces() -> np.ndarray:
    from skimage import data

    return data.lfw_subset()[:FACES_IN_SUBSET].astype(np.float32)   # (100, 25, 25), 0..1


def _subject_look(rng: np.random.Generator, face_index: int, size: int) -> SubjectLook:
    big = size * SUPERSAMPLE
    gray = cv2.resize(_faces()[face_index], (big, big), interpolation=cv2.INTER_CUBIC)
    contrast, brightness = rng.uniform(0.75, 1.25), rng.uniform(-0.12, 0.12)
    gray = np.clip((gray - gray.mean()) * contrast + gray.mean() + brightness, 0.0, 1.0)
    tint = rng.uniform(0.85, 1.15, size=3).astype(np.float32)
    rgb = np.clip(gray[..., None] * tint * 255.0, 0, 255).astype(np.float32)
    # Placement: zoom, tilt, shift and mirror about the centre.
    zoom, angle = rng.uniform(0.9, 1.15), rng.uniform(-7.0, 7.0)
    matrix = cv2.getRotationMatrix2D(((big - 1) / 2, (big - 1) / 2), angle, zoom)
    matrix[:, 2] += rng.uniform(-0.05, 0.05, size=2) * big
    if rng.random() < 0.5:
        matrix = np.array([[-1.0, 0.0, big - 1.0], [0.0, 1.0, 0.0]]) @ np.vstack([matrix, [0, 0, 1]])
    face = cv2.warpAffine(rgb, matrix, (big, big), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)

    sites = {}
    for name, (fx, fy) in SITES.items():
        jx, jy = rng.uniform(-0.05, 0.05, size=2)
        point = matrix @ np.array([(fx + jx) * (big - 1), (fy + jy) * (big - 1), 1.0])
        sites[name] = (float(point[0]), float(point[1]))
    linear = matrix[:, :2] / zoom  # rotation (and mirror): directions turn with the face
    directions: dict[str, dict[str, tuple[float, float]]] = {}
    for label, moves in CLASS_MOTIONS.items():
        directions[label] = {}
        for site, (dx, dy) in moves:
            turn = np.deg2rad(rng.uniform(-25.0, 25.0))
            rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
            vec = linear @ rot @ np.array([dx, dy])
            directions[label][site] = tuple(float(v) for v in vec / np.linalg.norm(vec))
    shortest = int(rng.integers(8, 14))
    return SubjectLook(
        face=face, sites=sites, directions=directions, sigma=float(rng.uniform(0.06, 0.11) * big * zoom),
        balance=float(rng.uniform(0.6, 1.0)), noise=float(rng.uniform(*NOISE_SIGMA)),
        amplitude=float(rng.uniform(*AMPLITUDE_PX)), length_range=(shortest, shortest + int(rng.integers(4, 16))),
        lead_in=float(rng.uniform(0.0, 0.3)), apex_at=float(rng.uniform(0.3, 0.7)),
        release=float(rng.uniform(0.0, 0.5)))


def _field(look: SubjectLook, label: str) -> np.ndarray:
    """(H*s, W*s, 2) displacement per unit amplitude: Gaussian bumps at the class's sites; peak 1."""
    big = look.face.shape[0]
    ys, xs = np.mgrid[0:big, 0:big].astype(np.float32)
    field = np.zeros((big, big, 2), np.float32)
    for site, direction in look.directions[label].items():
        cx, cy = look.sites[site]
        weight = look.balance if site.endswith("_r") else 1.0
        bump = weight * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * look.sigma ** 2))
        field[..., 0] += bump * direction[0]
        field[..., 1] += bump * direction[1]
    return field / float(np.sqrt((field ** 2).sum(-1)).max())


def _profile(rng: np.random.Generator, look: SubjectLook) -> tuple[np.ndarray, int]:
    """Amplitude per frame (0..1) and the apex index: still lead-in, raised-cosine rise, partial release."""
    length = int(rng.integers(look.length_range[0], look.length_range[1] + 1))
    start = int(round(look.lead_in * (length - 3)))
    span = length - start
    apex = start + max(1, min(span - 1, int(round(look.apex_at * span))))
    t = np.arange(length, dtype=np.float64)
    rise = 0.5 * (1 - np.cos(np.pi * np.clip((t - start) / max(apex - start, 1), 0, 1)))
    fall = 1 - (1 - look.release) * 0.5 * (1 - np.cos(np.pi * np.clip((t - apex) / max(length - 1 - apex, 1), 0, 1)))
    return np.where(t <= apex, rise, fall), apex


def _render(look: SubjectLook, field: np.ndarray, amplitudes: np.ndarray, rng: np.random.Generator,
            size: int) -> np.ndarray:
    big = look.face.shape[0]
    ys, xs = np.mgrid[0:big, 0:big].astype(np.float32)
    frames = np.empty((len(amplitudes), size, size, 3), np.uint8)
    for i, a in enumerate(amplitudes):
        d = float(a) * SUPERSAMPLE
        warped = look.face if d == 0 else cv2.remap(look.face, xs - d * field[..., 0], ys - d * field[..., 1],
                                                     cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        small = cv2.resize(warped, (size, size), interpolation=cv2.INTER_AREA)
        small = small + rng.normal(0.0, look.noise, small.shape).astype(np.float32)
        frames[i] = np.clip(small + 0.5, 0, 255).astype(np.uint8)
    return frames


def make_gaussian_smic(root: str | os.PathLike, subjects: int = 8, clips_per_class: int = 4, seed: int = 0,
                       image_size: int = 64) -> GaussianDataset:
    """Write the set in SMIC's cropped layout under `root` (subjects: the first N of SMIC's 16 LOSO ids)."""
    numbers = catalog.LOSO_SUBJECT_NUMBERS["SMIC"]
    if not 1 <= subjects <= len(numbers):
        raise ValueError(f"subjects must be 1..{len(numbers)}, got {subjects}")
    if clips_per_class < 1 or image_size < 16:
        raise ValueError(f"need clips_per_class >= 1 and image_size >= 16, got {clips_per_class}, {image_size}")
    root = Path(root)
    top = root.joinpath(*catalog.SMIC_FRAMES_DIR)
    faces = np.random.default_rng([seed, 7]).permutation(FACES_IN_SUBSET)
    clips: list[GaussianClip] = []
    used: dict[str, int] = {}
    for index, number in enumerate(numbers[:subjects]):
        rng = np.random.default_rng([seed, number])
        subject = catalog.subject_id("SMIC", number)
        used[subject] = int(faces[index])
        look = _subject_look(rng, used[subject], image_size)
        for label in catalog.CLASS_NAMES["SMIC"]:
            field = _field(look, label)
            for k in range(clips_per_class):
                amplitude = float(np.clip(look.amplitude + rng.uniform(-0.15, 0.15), *AMPLITUDE_PX))
                profile, apex = _profile(rng, look)
                frames = _render(look, field, profile * amplitude, rng, image_size)
                clip_id = f"s{number}_{label}_{k + 1:02d}"
                folder = top / f"s{number}" / "micro" / catalog.SMIC_CLASS_FOLDERS[label] / clip_id
                first = int(rng.integers(10000, 90000))
                paths = tuple(folder / f"image{first + i:06d}.bmp" for i in range(len(frames)))
                for path, frame in zip(paths, frames):
                    write_frame(path, frame)
                clips.append(GaussianClip(subject, clip_id, label, paths, apex, amplitude))
    return GaussianDataset(root=root, clips=tuple(clips), faces=used)
