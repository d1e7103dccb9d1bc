"""Render a synthetic long video's frames from a face photo and a Script, one frame at a time.

Each video has its own look: face size and position, mirroring, brightness, a smooth backdrop, sensor
noise and a slight head sway (nobody holds perfectly still). A frame is the head layer (the face photo under
the frame's local motions, head pose and blink, cut out by a soft ellipse) over the still backdrop, then
the lighting, then noise. One cv2.remap per layer per frame maps frame pixels straight into the photo, so
sub-pixel motions are not blurred by a chain of resamplings.
"""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from mer_live.spot_eval.synthetic_faces import FaceImage
from mer_live.spot_eval.synthetic_script import MOTIONS, Script, ramp


@dataclasses.dataclass(frozen=True)
class Look:
    """One video's appearance."""

    frame_hw: tuple[int, int]
    crop_side: float              # the side of the face crop the live engine takes, in frame pixels
    centre: tuple[float, float]   # face centre in the frame at rest
    mirror: bool
    brightness: float
    noise: float                  # sensor noise sigma, grey levels
    sway_px64: float              # head sway amplitude, px in a 64-px crop
    sway_hz: tuple[float, float]
    sway_phase: tuple[float, float]
    backdrop_seed: int


def draw_look(rng: np.random.Generator, frame_hw: tuple[int, int], crop: bool = False) -> Look:
    """A random look. `crop=True`: the frame is a face crop (the face fills it; for `--face full` runs)."""
    height, width = frame_hw
    if crop:
        side = min(height, width) * rng.uniform(0.95, 1.05)
        centre = (width / 2 + rng.uniform(-0.02, 0.02) * width, height / 2 + rng.uniform(-0.02, 0.02) * height)
    else:
        side = 1.2 * height * rng.uniform(0.36, 0.48)         # a face box 36-48 % of the frame's height
        centre = (width * rng.uniform(0.38, 0.62), height * rng.uniform(0.42, 0.55))
    return Look(frame_hw=(int(height), int(width)), crop_side=float(side), centre=centre,
                mirror=bool(rng.random() < 0.5), brightness=float(rng.uniform(0.8, 1.15)),
                noise=float(rng.uniform(0.5, 2.5)), sway_px64=float(rng.uniform(0.0, 0.3)),
                sway_hz=(float(rng.uniform(0.1, 0.4)), float(rng.uniform(0.1, 0.4))),
                sway_phase=(float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0, 2 * np.pi))),
                backdrop_seed=int(rng.integers(2**31)))


def _backdrop(look: Look) -> np.ndarray:
    rng = np.random.default_rng(look.backdrop_seed)
    height, width = look.frame_hw
    coarse = rng.uniform(30, 210, size=(3, 4, 3)).astype(np.float32)
    base = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    texture = cv2.resize(rng.normal(0, 8, size=(12, 16, 1)).astype(np.float32), (width, height),
                         interpolation=cv2.INTER_LINEAR)
    return np.clip(base + texture[..., None], 0, 255)


NOISE_FIELDS, NOISE_MARGIN = 4, 32

# A blink: each upper lid sweeps down over its eye. In eye distances: the lid travels BLINK_TRAVEL; the skin
# that moves spans from BLINK_TOP (above the eye's centre, below the brow) to BLINK_BOTTOM, fully from
# BLINK_FULL down, and BLINK_HALF_WIDTH to each side; the brows stay where they are.
BLINK_TRAVEL, BLINK_TOP, BLINK_FULL, BLINK_BOTTOM, BLINK_HALF_WIDTH = 0.11, -0.25, -0.07, 0.10, 0.22


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


class Renderer:
    """`frame(i)` -> (H, W, 3) RGB uint8 of frame i of `script`, deterministic from `seed`."""

    def __init__(self, face: FaceImage, look: Look, script: Script, seed: int):
        self.look, self.script = look, script
        eye_distance = look.crop_side / face.crop_in_eye_distances
        scale = eye_distance / face.eye_distance
        scaled = cv2.resize(face.image, None, fx=scale, fy=scale,
                            interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        pad = int(np.ceil(3.0 * eye_distance))                # room for the head ellipse of a face near an edge
        self.source = cv2.copyMakeBorder(scaled, pad, pad, pad, pad, cv2.BORDER_REFLECT).astype(np.float32)
        self.landmarks = face.landmarks * scale + pad
        scaled = FaceImage(image=face.image, landmarks=self.landmarks, box=face.box * scale + pad, name=face.name)
        self.points = scaled.points()
        self.u, self.v = scaled.axes()
        self.d = eye_distance
        self.px64 = look.crop_side / 64.0                      # source pixels per px of a 64-px crop
        self.face_centre = scaled.centre()
        self.mask = self._head_mask()
        self.lid_colour = {side: self._lid_colour(side) for side in ("l", "r")}
        self.backdrop = _backdrop(look).astype(np.float32)
        height, width = look.frame_hw
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        self.grid = np.stack([xs, ys], -1)
        self.x_rel = (xs / max(width - 1, 1) - 0.5)[..., None].astype(np.float32)
        self.rng = np.random.default_rng(seed)
        self.noise_bank = [self.rng.standard_normal((height + NOISE_MARGIN, width + NOISE_MARGIN, 3), dtype=np.float32)
                           * np.float32(look.noise) for _ in range(NOISE_FIELDS)]
        self.drift_sign = self._drift_signs()

    # ------------------------------------------------------------------ set-up
    def _head_mask(self) -> np.ndarray:
        h, w = self.source.shape[:2]
        mask = np.zeros((h, w), np.float32)
        centre = self.face_centre - 0.25 * self.d * self.v
        angle = float(np.degrees(np.arctan2(self.u[1], self.u[0])))
        cv2.ellipse(mask, (int(round(centre[0])), int(round(centre[1]))),
                    (int(round(1.45 * self.d)), int(round(2.1 * self.d))), angle, 0, 360, 1.0, -1)
        return cv2.GaussianBlur(mask, (0, 0), max(0.12 * self.d, 1.0))

    def _lid_colour(self, side: str) -> np.ndarray:
        x, y = (self.points[f"eye_{side}"] - 0.16 * self.d * self.v).round().astype(int)
        r = max(int(0.06 * self.d), 1)
        patch = self.source[max(y - r, 0):y + r + 1, max(x - 2 * r, 0):x + 2 * r + 1]
        return patch.reshape(-1, 3).mean(0) if patch.size else np.full(3, 128.0, np.float32)

    def _drift_signs(self) -> dict[int, float]:
        """Drifts that would carry the face out of the frame go the other way."""
        height, width = self.look.frame_hw
        signs, x, y = {}, *self.look.centre
        for k, a in enumerate(self.script.actions):
            if a.kind != "drift":
                continue
            dx, dy = np.array([np.cos(a.direction), np.sin(a.direction)]) * a.amplitude * self.look.crop_side
            half = self.look.crop_side * 0.6
            inside = half <= x + dx <= width - half and half <= y + dy <= height - half
            signs[k] = 1.0 if inside else -1.0
            x, y = x + signs[k] * dx, y + signs[k] * dy
        return signs

    # ------------------------------------------------------------------ one frame
    def _pose(self, i: int) -> tuple[np.ndarray, float]:
        """(translation in frame pixels, rotation in degrees) of the head at frame i."""
        t = i / self.script.fps
        shift = np.zeros(2)
        angle = 0.0
        for k, a in enumerate(self.script.actions):
            if a.kind not in ("drift", "turn") or i < a.start:
                continue
            level = ramp(a, i)
            if a.kind == "drift":
                direction = np.array([np.cos(a.direction), np.sin(a.direction)])
                shift += self.drift_sign[k] * level * a.amplitude * self.look.crop_side * direction
            else:
                angle += level * a.amplitude * a.direction
        sway = self.look.sway_px64 * self.px64
        shift += sway * np.sin(2 * np.pi * np.array(self.look.sway_hz) * t + np.array(self.look.sway_phase))
        return shift, angle

    def _matrix(self, angle: float) -> np.ndarray:
        """Frame offsets from the face centre -> face-photo offsets (mirror, then undo the head's rotation)."""
        theta = np.radians(-angle)
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        mirror = np.diag([-1.0, 1.0]) if self.look.mirror else np.eye(2)
        return mirror @ rot

    def _source_coords(self, box: tuple[int, int, int, int], centre: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """For each frame pixel in `box` (x0, y0, x1, y1), the point of the (scaled) face photo it shows."""
        x0, y0, x1, y1 = box
        xs = self.grid[y0:y1, x0:x1, 0] - np.float32(centre[0])
        ys = self.grid[y0:y1, x0:x1, 1] - np.float32(centre[1])
        m = matrix.astype(np.float32)
        fx, fy = self.face_centre.astype(np.float32)
        return np.stack([m[0, 0] * xs + m[0, 1] * ys + fx, m[1, 0] * xs + m[1, 1] * ys + fy], -1)

    def _displacement(self, coords: np.ndarray, box, centre: np.ndarray, matrix: np.ndarray, motions,
                      closure: float) -> np.ndarray | None:
        """Sum of the active bumps' displacements (face-photo pixels) at `coords` (the frame pixels of `box`).

        A bump is never narrower than 1.1 x its own displacement, so the warp never folds (a bigger pull moves
        a wider patch of skin); each bump is evaluated only within 3.5 sigma of its centre.
        """
        if not motions and closure <= 0:
            return None
        field = np.zeros(coords.shape, np.float32)
        x0, y0, x1, y1 = box
        inverse = matrix.T                                     # matrix is orthogonal
        if closure > 0:
            field += self._blink_field(coords, closure)
        for motion, amp in motions:
            for point, (du, dv), sigma in MOTIONS[motion]:
                vec = ((du * self.u + dv * self.v) * amp * self.px64).astype(np.float32)
                s = max(sigma * self.d, 1.1 * float(np.hypot(*vec)))
                source_point = self.points[point]
                fx, fy = centre + inverse @ (source_point - self.face_centre)
                r = 3.5 * s
                bx0, bx1 = max(int(fx - r) - x0, 0), min(int(fx + r) + 1 - x0, x1 - x0)
                by0, by1 = max(int(fy - r) - y0, 0), min(int(fy + r) + 1 - y0, y1 - y0)
                if bx1 <= bx0 or by1 <= by0:
                    continue
                diff = coords[by0:by1, bx0:bx1] - source_point.astype(np.float32)
                bump = np.exp((diff * diff).sum(-1) * np.float32(-0.5 / (s * s)))
                field[by0:by1, bx0:bx1] += bump[..., None] * vec
        return field

    def _blink_field(self, coords: np.ndarray, closure: float) -> np.ndarray:
        """The lids' sweep: skin from above each eye slides down over it by up to BLINK_TRAVEL eye distances.
        The upper ramp is long enough that the warp never folds (travel / ramp x 1.5 < 1)."""
        u, v = self.u.astype(np.float32), self.v.astype(np.float32)
        field = np.zeros(coords.shape, np.float32)
        for side in ("l", "r"):
            diff = coords - self.points[f"eye_{side}"].astype(np.float32)
            along, across = diff @ u / self.d, diff @ v / self.d
            weight = (_smoothstep((across - BLINK_TOP) / (BLINK_FULL - BLINK_TOP))
                      * _smoothstep((BLINK_BOTTOM - across) / 0.04)
                      * np.exp(-0.5 * (along / (BLINK_HALF_WIDTH * 0.75)) ** 4))
            field += (closure * BLINK_TRAVEL * self.d * weight)[..., None] * v
        return field

    def frame(self, i: int) -> np.ndarray:
        shift, angle = self._pose(i)
        height, width = self.look.frame_hw
        centre = np.asarray(self.look.centre) + shift
        reach = 2.7 * self.d                                  # the head ellipse (2.1 d) and its blur
        box = (max(int(centre[0] - reach), 0), max(int(centre[1] - reach), 0),
               min(int(centre[0] + reach) + 1, width), min(int(centre[1] + reach) + 1, height))
        frame = self.backdrop.copy()
        if box[2] > box[0] and box[3] > box[1]:
            matrix = self._matrix(angle)
            coords = self._source_coords(box, centre, matrix)
            closure = self.script.blink(i)
            field = self._displacement(coords, box, centre, matrix, self.script.local_motions(i), closure)
            x0, y0, x1, y1 = box
            frame[y0:y1, x0:x1] = self._head(coords, field, closure, frame[y0:y1, x0:x1])
        gain, gradient = self.script.lighting(i)
        frame *= self.look.brightness * (1 + gain) * (1 + gradient * self.x_rel)
        frame += self._noise()
        return np.clip(frame + 0.5, 0, 255).astype(np.uint8)

    def _noise(self) -> np.ndarray:
        """Sensor noise: a random window of one of a few pre-drawn noise fields (drawing a fresh field per
        frame costs more than the rest of the frame)."""
        height, width = self.look.frame_hw
        k = int(self.rng.integers(len(self.noise_bank)))
        dy, dx = (int(v) for v in self.rng.integers(0, NOISE_MARGIN + 1, 2))
        return self.noise_bank[k][dy:dy + height, dx:dx + width]

    def _head(self, coords: np.ndarray, field: np.ndarray | None, closure: float, backdrop: np.ndarray) -> np.ndarray:
        """The head layer over the backdrop within one rectangle of the frame."""
        sample = coords if field is None else coords - field
        head = cv2.remap(self.source, sample[..., 0], sample[..., 1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)
        if closure > 0:
            u, v = self.u.astype(np.float32), self.v.astype(np.float32)
            for side in ("l", "r"):
                diff = coords - self.points[f"eye_{side}"].astype(np.float32)
                along, across = diff @ u / (0.16 * self.d), diff @ v / (0.06 * self.d)
                alpha = (0.6 * closure * np.exp(-(along * along + across * across) / 2))[..., None]
                head = head * (1 - alpha) + self.lid_colour[side].astype(np.float32) * alpha
        mask = cv2.remap(self.mask, coords[..., 0], coords[..., 1], cv2.INTER_LINEAR, borderValue=0.0)[..., None]
        return backdrop * (1 - mask) + head * mask
