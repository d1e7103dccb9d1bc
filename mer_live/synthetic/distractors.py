"""Long synthetic streams with micro-expressions AMONG ordinary facial behaviour: the spotter's tuning set.

`mer_live.synthetic.stream.make_stream` shows a still face with micro-motions only. A spotter tuned on that
reports every blink, head drift and smile as well. This module renders the same bundled face photo
(its helpers are reused) with, per stream and varied by the random seed:

- micro-expressions: one of the synthetic classes' local motions, 0.2-0.5 s long, 1-3 px peak (in a
  64-px face crop), apex anywhere in the middle half;
- distractors: blinks (the upper eyelids pulled down over the eyes and back, 0.15-0.35 s), a smile held about 2 s (a
  macro-expression, scored as such), talking (the jaw and lower lip opening several times a second for
  1.5-3 s), the head drifting about 30 px over 1.5 s, a 3-6 degree in-plane head turn, and a lighting step;
- per stream: face scale and position, background, camera noise, amplitudes and timings.

The head moves over a still background (face and head mask are warped together, then composited).
Everything is deterministic from the seed. `DistractorStream.micro` / `.macro` are the truth intervals
(start, end) in seconds, `end` exclusive, as `mer_live.synthetic.stream.StreamEvent` has them.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import cv2
import numpy as np

from mer_live.synthetic.render import (ASTRONAUT_FACE_BOX, FACE_POINTS, MOTIONS, SUPERSAMPLE, ClipLook,
                                       astronaut_photo, crop_to_frame_scale, head_mask, motion_field, random_backdrop,
                                       rise_and_fall)

# MTCNN's five points (eyes, nose, mouth corners) on the astronaut photo, as it finds them.
ASTRONAUT_LANDMARKS = np.array([[205.0, 101.7], [246.8, 103.7], [224.7, 129.0], [201.7, 139.2], [245.3, 141.9]])
# Extra facial points (x, y) in the astronaut photo's pixels, beside the renderer's FACE_POINTS.
POINTS = {**FACE_POINTS, "lip_low": (224, 150), "chin": (224, 170), "eye_l": (205, 102), "eye_r": (247, 104)}
# (point, direction, sigma) primitives of the distractors' local motions, as mer_live.synthetic.render.MOTIONS
BLINK = (("eye_l", (0.0, 1.0), 4.0), ("eye_r", (0.0, 1.0), 4.0))
JAW = (("lip_low", (0.0, 1.0), 9.0), ("chin", (0.0, 1.0), 14.0), ("mouth_l", (0.25, 0.5), 6.0),
       ("mouth_r", (-0.25, 0.5), 6.0))
# The micro-expressions drawn: the classes' motions except eyes_widen (fear), which is dropped by the
# datasets' class maps and would look like an eyelid-only motion (see mer_live.streaming.spotting).
MICRO_MOTIONS = tuple(m for m in MOTIONS if m != "eyes_widen")
DISTRACTORS = ("blink", "smile", "talk", "drift", "turn", "light")


@dataclasses.dataclass(frozen=True)
class Interval:
    kind: str                   # "micro", "macro" or a distractor name ("blink", "talk", ...)
    start: float                # seconds (first frame of the motion)
    end: float                  # seconds, exclusive (the frame after the last frame of the motion)
    what: str = ""              # details: the motion's name and amplitude, a shift, an angle, a step
    motion: str = ""            # micro/macro: the local motion's name (mer_live.synthetic.render.MOTIONS)


@dataclasses.dataclass(frozen=True)
class TruthFace:
    """Where the face is in one frame, as a face detector would say: `.box`, `.landmarks`."""

    box: np.ndarray             # (x1, y1, x2, y2)
    landmarks: np.ndarray       # (5, 2)


@dataclasses.dataclass(frozen=True)
class DistractorStream:
    frames: np.ndarray          # (N, H, W, 3) RGB uint8
    fps: float
    seed: int
    intervals: tuple[Interval, ...]
    face_box: tuple[float, float, float, float]     # where the face starts (before any drift)
    pose: np.ndarray            # (N, 3): the head's shift x, y (frame pixels) and in-plane turn (degrees)
    look: ClipLook

    def face(self, index: int) -> TruthFace:
        """The face's box and five points in frame `index` (the head's drift and turn applied)."""
        x1, y1, x2, y2 = self.face_box
        centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
        tx, ty, degrees = self.pose[index]
        theta = np.deg2rad(degrees)
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])

        def moved(points: np.ndarray) -> np.ndarray:
            return (points - centre) @ rot.T + centre + np.array([tx, ty])

        corners = moved(np.array([[x1, y1], [x2, y1], [x1, y2], [x2, y2]], np.float64))
        box = np.array([*corners.min(axis=0), *corners.max(axis=0)])
        points = moved(self.look.map_points(ASTRONAUT_LANDMARKS))
        if points[0, 0] > points[1, 0]:            # a mirrored face: left and right as a detector names them
            points = points[[1, 0, 2, 4, 3]]
        return TruthFace(box=box, landmarks=points)

    @property
    def micro(self) -> list[tuple[float, float]]:
        return [(i.start, i.end) for i in self.intervals if i.kind == "micro"]

    @property
    def macro(self) -> list[tuple[float, float]]:
        return [(i.start, i.end) for i in self.intervals if i.kind == "macro"]

    def of_kind(self, kind: str) -> list[Interval]:
        return [i for i in self.intervals if i.kind == kind]


@dataclasses.dataclass
class _Track:
    """One local motion: its field (per unit amplitude) and its amplitude per frame (64-px crop pixels)."""

    primitives: tuple
    amplitude: np.ndarray


def _stream_look(rng: np.random.Generator, out_hw: tuple[int, int]) -> ClipLook:
    """A face of 30-50 % of the frame height somewhere near the centre, maybe mirrored, on a backdrop."""
    height, width = out_hw
    face = np.array(ASTRONAUT_FACE_BOX)
    face_centre = np.array([(face[0] + face[2]) / 2, (face[1] + face[3]) / 2])
    scale = rng.uniform(0.30, 0.50) * height / (face[3] - face[1])
    centre = np.array([width / 2 + rng.uniform(-0.12, 0.12) * width, height / 2 + rng.uniform(-0.06, 0.06) * height])
    sx = -scale if rng.random() < 0.5 else scale
    matrix = np.array([[sx, 0.0, centre[0] - sx * face_centre[0]], [0.0, scale, centre[1] - scale * face_centre[1]]])
    return ClipLook(matrix=matrix, brightness=float(rng.uniform(0.8, 1.15)), out_hw=out_hw, raw=True,
                 background=random_backdrop(rng, out_hw))


def _ramp(n: int, start: int, length: int) -> np.ndarray:
    """0 before `start`, a raised-cosine rise over `length` frames, 1 after."""
    t = (np.arange(n) - start) / max(length, 1)
    return np.where(t <= 0, 0.0, np.where(t >= 1, 1.0, 0.5 * (1 - np.cos(np.pi * np.clip(t, 0, 1)))))


def _plan(rng: np.random.Generator, micro_count: int, blinks: int, others: Sequence[str],
          shuffle: bool) -> list[tuple[str, float]]:
    """(what, duration s): micros, blinks and one of each other distractor, in a random order (`shuffle`)
    or in that order."""
    items = [("micro", float(rng.uniform(0.2, 0.5))) for _ in range(micro_count)]
    items += [("blink", float(rng.uniform(0.15, 0.35))) for _ in range(blinks)]
    durations = {"smile": float(rng.uniform(1.6, 2.4)), "talk": float(rng.uniform(1.5, 3.0)), "drift": 1.5,
                 "turn": float(rng.uniform(0.5, 1.0)), "light": 0.1}
    items += [(what, durations[what]) for what in others]
    if not shuffle:
        return items
    order = rng.permutation(len(items))
    return [items[i] for i in order]


def make_distractor_stream(seed: int, duration_s: float = 40.0, fps: float = 30.0,
                           frame_size: tuple[int, int] = (240, 320), micro_count: int = 6, blinks: int = 5,
                           distractors: Sequence[str] = ("smile", "talk", "drift", "turn", "light"),
                           first_s: float = 2.0, shuffle: bool = True, min_gap_s: float = 0.6,
                           sway_px: float = 0.0) -> DistractorStream:
    """Render one stream (see the module docstring): `micro_count` micro-expressions, `blinks` blinks and one
    of each of `distractors`, in a random order (or as listed, micros first, with `shuffle=False`), the
    first at `first_s`, at least `min_gap_s` apart. `sway_px`: the head also sways slowly all along (this
    many pixels of a 64-px crop each way, periods of 5-8 s), under everything else. Raises ValueError if
    the motions do not fit."""
    unknown = sorted(set(distractors) - set(DISTRACTORS) - {"blink"})
    if unknown:
        raise ValueError(f"unknown distractor(s) {unknown}; choose from {DISTRACTORS}")
    rng = np.random.default_rng([seed, 11])
    n = int(round(duration_s * fps))
    out_hw = tuple(int(v) for v in frame_size)
    look = _stream_look(rng, out_hw)
    plan = _plan(rng, micro_count, blinks, distractors, shuffle)
    busy = sum(d for _, d in plan)
    spare = duration_s - first_s - busy - 1.0
    if spare < min_gap_s * len(plan):
        raise ValueError(f"{len(plan)} motions ({busy:.1f} s) do not fit in {duration_s} s; make the stream longer")
    gaps = rng.dirichlet(np.full(len(plan), 2.0)) * spare if plan else np.zeros(0)
    gaps = np.maximum(gaps, min_gap_s)
    gaps *= spare / max(gaps.sum(), 1e-9)
    px = crop_to_frame_scale(look)                 # frame pixels per pixel of a 64-px face crop
    tracks: list[_Track] = []
    tx, ty, angle = np.zeros(n), np.zeros(n), np.zeros(n)
    gain = np.ones(n)
    intervals: list[Interval] = []
    t = first_s
    for (what, dur), gap in zip(plan, gaps):
        start = int(round(t * fps))
        length = max(int(round(dur * fps)), 3)
        end = min(start + length, n)           # exclusive
        if what == "micro":
            motion = MICRO_MOTIONS[int(rng.integers(len(MICRO_MOTIONS)))]
            amp = float(rng.uniform(1.0, 3.0))
            apex = int(rng.integers(max(1, length // 4), max(2, (3 * length) // 4) + 1))
            a = np.zeros(n)
            a[start:end] = rise_and_fall(length, apex)[: end - start] * amp
            tracks.append(_Track(MOTIONS[motion], a))
            intervals.append(Interval("micro", start / fps, end / fps, f"{motion} {amp:.1f}px", motion))
        elif what == "blink":
            amp = float(rng.uniform(2.5, 4.0))
            a = np.zeros(n)
            a[start:end] = rise_and_fall(length, max(1, length // 3))[: end - start] * amp
            tracks.append(_Track(BLINK, a))
            intervals.append(Interval("blink", start / fps, end / fps, f"{amp:.1f}px"))
        elif what == "smile":
            amp = float(rng.uniform(3.0, 5.0))
            rise = int(round(rng.uniform(0.3, 0.6) * fps))
            fall = int(round(rng.uniform(0.3, 0.6) * fps))
            a = (_ramp(n, start, rise) - _ramp(n, end - fall, fall)) * amp
            tracks.append(_Track(MOTIONS["smile"], a))
            intervals.append(Interval("macro", start / fps, end / fps, f"smile {amp:.1f}px", "smile"))
        elif what == "talk":
            a = np.zeros(n)
            k = start
            while k < end - 3:
                syllable = int(round(rng.uniform(0.12, 0.3) * fps))
                stop = min(k + syllable, end)
                a[k:stop] = rise_and_fall(syllable, syllable // 2)[: stop - k] * rng.uniform(1.5, 4.5)
                k = stop + int(round(rng.uniform(0.0, 0.12) * fps))
            tracks.append(_Track(JAW, a))
            intervals.append(Interval("talk", start / fps, end / fps))
        elif what == "drift":
            shift = float(rng.uniform(25, 35)) * px / 1.8     # ~30 frame px for a face of 40 % of the height
            direction = rng.uniform(0, 2 * np.pi)
            ramp = _ramp(n, start, length)
            tx += ramp * shift * np.cos(direction)
            ty += ramp * shift * np.sin(direction) * 0.4
            intervals.append(Interval("drift", start / fps, end / fps, f"{shift:.0f}px"))
        elif what == "turn":
            degrees = float(rng.uniform(3.0, 6.0)) * rng.choice((-1, 1))
            angle += _ramp(n, start, length) * degrees
            intervals.append(Interval("turn", start / fps, end / fps, f"{degrees:.1f} deg"))
        elif what == "light":
            step = float(rng.uniform(0.12, 0.25)) * rng.choice((-1, 1))
            gain *= 1.0 + step * _ramp(n, start, 2)
            intervals.append(Interval("light", start / fps, end / fps, f"{step:+.0%}"))
        t += dur + gap
    if sway_px:
        sway = np.random.default_rng([seed, 13])
        t_s = np.arange(n) / fps
        periods, phases = sway.uniform(5.0, 8.0, 2), sway.uniform(0, 2 * np.pi, 2)
        tx = tx + sway_px * px * np.sin(2 * np.pi * t_s / periods[0] + phases[0])
        ty = ty + 0.5 * sway_px * px * np.sin(2 * np.pi * t_s / periods[1] + phases[1])
    frames = _render(look, tracks, tx, ty, angle, gain, rng, noise=float(rng.uniform(0.5, 2.5)))
    return DistractorStream(frames=frames, fps=float(fps), seed=seed, intervals=tuple(intervals),
                            face_box=look.face_box(), pose=np.stack([tx, ty, angle], axis=1), look=look)


def _render(look: ClipLook, tracks: Sequence[_Track], tx, ty, angle, gain, rng: np.random.Generator,
            noise: float) -> np.ndarray:
    """Warp the face (local motions, then the head's rigid motion) over the still backdrop, frame by frame."""
    height, width = look.out_hw
    s = SUPERSAMPLE
    size = (width * s, height * s)
    matrix = look.matrix * s
    face = cv2.warpAffine(astronaut_photo(), matrix, size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT).astype(np.float32) * look.brightness
    mask = cv2.warpAffine(head_mask(), matrix, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    backdrop = cv2.resize(look.background, size, interpolation=cv2.INTER_LINEAR)
    px_ss = crop_to_frame_scale(look) * s          # supersampled pixels per 64-px-crop pixel
    fields = [motion_field(look, track.primitives, POINTS) for track in tracks]
    x1, y1, x2, y2 = look.face_box()
    centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2]) * s
    ys, xs = np.mgrid[0:height * s, 0:width * s].astype(np.float32)
    frames = np.empty((len(tx), height, width, 3), np.uint8)
    state, clean = None, None
    for i in range(len(tx)):
        amplitudes = tuple(float(tr.amplitude[i]) for tr in tracks)
        if (tx[i], ty[i], angle[i], amplitudes) != state:     # most frames repeat the previous pose
            state = (tx[i], ty[i], angle[i], amplitudes)
            clean = _pose(face, mask, backdrop, fields, amplitudes, px_ss, centre, tx[i] * s, ty[i] * s,
                          angle[i], xs, ys, (width, height))
        small = clean * gain[i] + rng.normal(0.0, noise, clean.shape).astype(np.float32)
        frames[i] = np.clip(small + 0.5, 0, 255).astype(np.uint8)
    return frames


def _pose(face, mask, backdrop, fields, amplitudes, px_ss, centre, tx, ty, angle, xs, ys, out_wh) -> np.ndarray:
    """One noise-free frame (float32, output size): local motions, then the head's rigid motion."""
    # output pixel p shows the head's point q = R^-1 (p - c - t) + c, displaced locally by -field(q)
    theta = np.deg2rad(angle)
    cos, sin = np.cos(theta), np.sin(theta)
    dx, dy = xs - centre[0] - tx, ys - centre[1] - ty
    qx = (cos * dx + sin * dy + centre[0]).astype(np.float32)
    qy = (-sin * dx + cos * dy + centre[1]).astype(np.float32)
    map_x, map_y = qx, qy
    active = [(f, a) for f, a in zip(fields, amplitudes) if a != 0]
    if active:
        local = sum(f * a for f, a in active) * px_ss
        warped = cv2.remap(local, qx, qy, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        map_x, map_y = qx - warped[..., 0], qy - warped[..., 1]
    moved = cv2.remap(face, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    alpha = cv2.remap(mask, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderValue=0.0)[..., None]
    return cv2.resize(moved * alpha + backdrop * (1.0 - alpha), out_wh, interpolation=cv2.INTER_AREA)
