"""Micro-motions pasted into real video at known times: the ground truth that real talking clips lack.

A real clip has head motion, talking, blinks and camera noise but no annotated micro-expression, and the
datasets that have them may not be copied. So a small, smooth local displacement is pasted into each
frame: Gaussian-windowed warps (cv2.remap) centred on a facial site placed from MTCNN's five points
(brows, the eyes' outer corners, the nose wings, the mouth corners), 1.5-3 px in the frame, 0.2-0.5 s from
onset to offset. As in real micro-expression clips the face does not come back by the offset: 40-100 %
of the peak displacement is still there, and it then fades over one to three seconds. `degrade` adds
sensor noise and a JPEG pass, applied alike to the clip with and without pasted motions.

Onsets come from a seed (`draw_motions`) before anything is run, so a spotter's settings cannot pick them.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

# site -> (centre from the five points, Gaussian sigma in interocular distances, actions: unit vectors in
# face axes (u along the eye line towards the image's right, v down), mirrored for the image-left side)
SITES = ("brows", "eye_corners", "nose_wings", "mouth_corners")
SIGMA_IOD = {"brows": 0.16, "eye_corners": 0.10, "nose_wings": 0.10, "mouth_corners": 0.13}
ACTIONS = {                      # (u outward, v down): the direction each side's site moves
    "brows": {"raise": (0.0, -1.0), "lower": (-0.6, 0.8)},             # AU1+2 / AU4 (down and inward)
    "eye_corners": {"squint": (-0.4, -0.9), "widen": (0.3, 0.95)},      # AU6-7 / AU5
    "nose_wings": {"wrinkle": (0.2, -0.98), "flare": (1.0, 0.0)},       # AU9-10 / AU38
    "mouth_corners": {"pull": (0.7, -0.7), "depress": (0.2, 0.98), "stretch": (1.0, 0.0)},  # AU12/15/20
}
SIDES = ("both", "left", "right")   # image sides
POINTS = 5                          # MTCNN: eyes (image left, right), nose, mouth corners (left, right)


@dataclass(frozen=True)
class PastedMotion:
    """One pasted micro-motion: rises from `onset` to its apex, falls to `remain` of the peak by `offset`,
    then fades to nothing over `release_s`."""

    onset: float                # stream seconds
    offset: float
    apex: float                 # between onset and offset
    site: str                   # one of SITES
    action: str                 # one of ACTIONS[site]
    sides: str                  # one of SIDES
    amplitude_px: float         # peak displacement in frame pixels
    remain: float               # share of the peak still there at the offset
    release_s: float

    def __post_init__(self) -> None:
        if self.site not in SITES or self.action not in ACTIONS[self.site]:
            raise ValueError(f"unknown pasted motion {self.site}/{self.action}")
        if self.sides not in SIDES:
            raise ValueError(f"pasted motion sides must be one of {SIDES}, got {self.sides!r}")
        if not self.onset < self.apex < self.offset:
            raise ValueError(f"a pasted motion needs onset < apex < offset, got {self.onset}, {self.apex}, "
                             f"{self.offset}")
        if not 0.0 <= self.remain <= 1.0 or self.release_s <= 0 or self.amplitude_px <= 0:
            raise ValueError("pasted motion remain must be in [0, 1], release and amplitude > 0")

    @property
    def interval(self) -> tuple[float, float]:
        return (self.onset, self.offset)

    @property
    def end(self) -> float:
        """When the displacement is gone."""
        return self.offset + self.release_s

    def level(self, t: float) -> float:
        """Share of the peak displacement at stream time t (smooth: a raised cosine on each stretch)."""
        def ease(x: float) -> float:
            return 0.5 - 0.5 * math.cos(math.pi * min(max(x, 0.0), 1.0))
        if t <= self.onset or t >= self.end:
            return 0.0
        if t <= self.apex:
            return ease((t - self.onset) / (self.apex - self.onset))
        if t <= self.offset:
            return 1.0 - (1.0 - self.remain) * ease((t - self.apex) / (self.offset - self.apex))
        return self.remain * (1.0 - ease((t - self.offset) / self.release_s))

    def to_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def draw_motions(seed: int, start_s: float, stop_s: float, duration_s=(0.2, 0.5), amplitude_px=(1.5, 3.0),
                 remain=(0.4, 1.0), release_s=(1.0, 3.0), gap_s=(0.8, 2.0), avoid=()) -> list[PastedMotion]:
    """Motions one after another between start_s and stop_s, each after the last has faded plus a gap;
    sites, actions, sides, sizes and times all drawn from `seed` alone. A motion whose onset-offset would
    overlap a span of `avoid` ((start, end) seconds: a clip's cuts, say) starts at that span's end instead."""
    rng = np.random.default_rng(seed)
    motions: list[PastedMotion] = []
    t = start_s + rng.uniform(*gap_s)
    while True:
        duration = rng.uniform(*duration_s)
        release = rng.uniform(*release_s)
        while any(t < end and t + duration > begin for begin, end in avoid):
            t = max(end for begin, end in avoid if t < end and t + duration > begin)
        if t + duration > stop_s:
            return motions
        site = SITES[rng.integers(len(SITES))]
        actions = sorted(ACTIONS[site])
        motions.append(PastedMotion(
            onset=float(t), offset=float(t + duration), apex=float(t + duration * rng.uniform(0.35, 0.65)),
            site=site, action=actions[int(rng.integers(len(actions)))],
            sides=SIDES[int(rng.choice(3, p=[0.6, 0.2, 0.2]))], amplitude_px=float(rng.uniform(*amplitude_px)),
            remain=float(rng.uniform(*remain)), release_s=float(release)))
        t += duration + release + rng.uniform(*gap_s)


def find_points(frames, detector, every: int = 1, max_side: int | None = 320) -> np.ndarray:
    """(T, 5, 2) MTCNN landmarks in frame pixels (NaN where no face was found, and on the frames between
    every `every`-th, for `smooth_points` to fill); `detector` has `detect(rgb) -> Face | None`
    (mer_live.face.FaceDetector), and sees each frame shrunk to `max_side`."""
    out = []
    for i, frame in enumerate(frames):
        points = np.full((POINTS, 2), np.nan)
        if i % every == 0:
            scale = 1.0
            if max_side is not None and max(frame.shape[:2]) > max_side:
                scale = max_side / max(frame.shape[:2])
                frame = cv2.resize(frame, (round(frame.shape[1] * scale), round(frame.shape[0] * scale)),
                                   interpolation=cv2.INTER_AREA)
            face = detector.detect(frame)
            if face is not None:
                points = np.asarray(face.landmarks, np.float64).reshape(POINTS, 2) / scale
        out.append(points)
    return np.stack(out) if out else np.zeros((0, POINTS, 2))


def smooth_points(points: np.ndarray, sigma_frames: float = 2.0, max_gap: int = 6) -> np.ndarray:
    """(T, 5, 2) per-frame landmarks, NaN where none was found: gaps of up to `max_gap` frames filled
    linearly (at either end, with the nearest points), then a Gaussian over time (MTCNN's points jitter by
    about a pixel from frame to frame, which would shake the pasted warp). Frames still without points stay
    NaN."""
    points = np.array(points, np.float64)
    if points.ndim != 3 or points.shape[1:] != (POINTS, 2):
        raise ValueError(f"landmarks must be (T, 5, 2), got {points.shape}")
    found = ~np.isnan(points).any(axis=(1, 2))
    filled = points.copy()
    index = np.flatnonzero(found)
    for a, b in zip(index[:-1], index[1:]):
        if 1 < b - a <= max_gap + 1:
            w = (np.arange(a + 1, b) - a)[:, None, None] / (b - a)
            filled[a + 1:b] = (1 - w) * points[a] + w * points[b]
    if len(index):                                        # the ends: the nearest points, as far
        filled[max(0, index[0] - max_gap):index[0]] = points[index[0]]
        filled[index[-1] + 1:index[-1] + 1 + max_gap] = points[index[-1]]
    have = ~np.isnan(filled).any(axis=(1, 2))
    radius = int(math.ceil(3 * sigma_frames))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / max(sigma_frames, 1e-6)) ** 2)
    out = np.full_like(filled, np.nan)
    for i in np.flatnonzero(have):
        lo, hi = max(0, i - radius), min(len(filled), i + radius + 1)
        w = kernel[lo - i + radius:hi - i + radius] * have[lo:hi]
        out[i] = np.tensordot(w, np.nan_to_num(filled[lo:hi]), axes=1) / w.sum()
    return out


def site_centres(points: np.ndarray, motion: PastedMotion) -> list[tuple[np.ndarray, np.ndarray]]:
    """(centre, unit direction) in frame pixels for each side of a motion's site, from five points."""
    eye_l, eye_r, nose, mouth_l, mouth_r = np.asarray(points, np.float64)
    iod = float(np.hypot(*(eye_r - eye_l)))
    u = (eye_r - eye_l) / max(iod, 1e-6)                  # along the eye line, to the image's right
    v = np.array([-u[1], u[0]])                           # down the face
    anchors = {
        "brows": (eye_l - 0.32 * iod * v, eye_r - 0.32 * iod * v),
        "eye_corners": (eye_l - 0.25 * iod * u, eye_r + 0.25 * iod * u),
        "nose_wings": (nose - 0.20 * iod * u - 0.05 * iod * v, nose + 0.20 * iod * u - 0.05 * iod * v),
        "mouth_corners": (mouth_l, mouth_r),
    }[motion.site]
    du, dv = ACTIONS[motion.site][motion.action]
    out = []
    for side, centre, outward in (("left", anchors[0], -1.0), ("right", anchors[1], 1.0)):
        if motion.sides in ("both", side):
            direction = outward * du * u + dv * v
            out.append((centre, direction / max(np.hypot(*direction), 1e-9)))
    return out


def _blobs(t: float, points: np.ndarray, motions) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(centre, shift, sigma) in frame pixels of every site moving at time t."""
    blobs = []
    iod = float(np.hypot(*(points[1] - points[0])))
    for motion in motions:
        level = motion.level(t)
        if level <= 0:
            continue
        size = level * motion.amplitude_px
        sigma = max(SIGMA_IOD[motion.site] * iod, 1.5 * motion.amplitude_px)
        blobs += [(centre, size * direction, sigma) for centre, direction in site_centres(points, motion)]
    return blobs


def _field(xs: np.ndarray, ys: np.ndarray, blobs) -> tuple[np.ndarray, np.ndarray]:
    dx = np.zeros_like(xs)
    dy = np.zeros_like(ys)
    for centre, shift, sigma in blobs:
        g = np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * sigma * sigma))
        dx += shift[0] * g
        dy += shift[1] * g
    return dx, dy


def displacement(xs: np.ndarray, ys: np.ndarray, t: float, points: np.ndarray, motions) -> tuple[np.ndarray, np.ndarray]:
    """(dx, dy): how far the pasted motions move the content at frame pixels (xs, ys) at time t: the warp that
    `paste` applies, for measuring what a spotter should see of it."""
    return _field(xs, ys, _blobs(t, points, motions))


def region_displacement(boxes: np.ndarray, crop_box, size: int, t: float, points: np.ndarray, motions) -> np.ndarray:
    """(R, 2): the pasted warp's mean over each region box (x1, y1, x2, y2) of a `size`-px square crop of the
    frame's `crop_box`, in crop pixels at time t: what a region measurement of that crop should read."""
    x1, y1, x2, _ = crop_box
    scale = size / (x2 - x1)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    warp = np.stack(displacement(xs / scale + x1, ys / scale + y1, t, points, motions), axis=-1) * scale
    return np.array([warp[b:d, a:c].reshape(-1, 2).mean(axis=0) for a, b, c, d in boxes])


def paste(frame: np.ndarray, t: float, points: np.ndarray | None, motions) -> np.ndarray:
    """The frame with every motion active at time t warped in (a copy; the frame itself if none is).

    `points`: this frame's (5, 2) landmarks in frame pixels (None or NaN: no face, nothing is pasted).
    Each site moves by level * amplitude at its centre, falling off as a Gaussian of sigma a tenth to a
    sixth of the interocular distance (never under 1.5 amplitudes, so the warp never folds)."""
    if points is None or np.isnan(points).any():
        return frame
    blobs = _blobs(t, points, motions)
    if not blobs:
        return frame
    h, w = frame.shape[:2]
    reach = [(c, 3.5 * s) for c, _, s in blobs]
    x1 = max(0, int(min(c[0] - r for c, r in reach)))
    x2 = min(w, int(math.ceil(max(c[0] + r for c, r in reach))) + 1)
    y1 = max(0, int(min(c[1] - r for c, r in reach)))
    y2 = min(h, int(math.ceil(max(c[1] + r for c, r in reach))) + 1)
    if x2 <= x1 or y2 <= y1:
        return frame
    ys, xs = np.mgrid[y1:y2, x1:x2].astype(np.float32)
    dx, dy = _field(xs, ys, blobs)
    # a pixel shows what lay `shift` behind it: content moves by +shift (first order, |gradient| < 1)
    out = frame.copy()
    out[y1:y2, x1:x2] = cv2.remap(frame, xs - dx, ys - dy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    return out


def degrade(frame: np.ndarray, rng: np.random.Generator, read_noise: float = 1.5, shot_noise: float = 0.03,
            jpeg_quality: int = 80) -> np.ndarray:
    """A camera's noise (read noise plus shot noise that grows with brightness, in 8-bit levels) and a
    JPEG pass at `jpeg_quality`, on an RGB uint8 frame."""
    x = frame.astype(np.float32)
    sigma = np.sqrt(read_noise ** 2 + shot_noise * x)
    x += sigma * rng.standard_normal(x.shape, dtype=np.float32)
    noisy = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(noisy, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


STILL_FACE_ACTIONS = (("brows", "lower"), ("mouth_corners", "pull"), ("eye_corners", "squint"),
                      ("nose_wings", "wrinkle"), ("brows", "raise"), ("mouth_corners", "depress"))
STILL_FACE_FPS, STILL_FACE_SECONDS = 30.0, 14.0


def still_face_stream(still: np.ndarray, points: np.ndarray, amplitude_px: float,
                      rng: np.random.Generator) -> tuple[np.ndarray, list[PastedMotion]]:
    """(frames, motions): one real frame held still for STILL_FACE_SECONDS at STILL_FACE_FPS with a 0.3-s motion
    of each of STILL_FACE_ACTIONS (both sides, `amplitude_px`, 60 % left at the offset) every 2 s from 2 s, and
    camera noise and JPEG on every frame: what a spotter sees of a motion on a real face with nothing else
    moving (benchmarks/bench_spotter_sensitivity.py)."""
    motions = [PastedMotion(onset=2.0 + 2 * i, offset=2.3 + 2 * i, apex=2.12 + 2 * i, site=site, action=action,
                            sides="both", amplitude_px=amplitude_px, remain=0.6, release_s=1.5)
               for i, (site, action) in enumerate(STILL_FACE_ACTIONS)]
    frames = np.stack([degrade(paste(still, k / STILL_FACE_FPS, points, motions), rng)
                       for k in range(int(STILL_FACE_SECONDS * STILL_FACE_FPS))])
    return frames, motions


def frames_with_face(points: np.ndarray, fps: float, motion: PastedMotion) -> bool:
    """Whether the landmarks are known on every frame from a motion's onset to its offset (its fade is
    pasted only on frames where they are)."""
    first = max(0, int(math.floor(motion.onset * fps)))
    last = min(len(points) - 1, int(math.ceil(motion.offset * fps)))
    return last >= first and not np.isnan(points[first:last + 1]).any()
