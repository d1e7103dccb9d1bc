"""The renderer: a real face photo with a class's local micro-motion, seen through one clip's camera.

The face is skimage.data.astronaut() (bundled, no download). `random_look` draws a subject's appearance
(scale, position, brightness, mirroring; raw frames: a backdrop too), `motion_field` turns a class's motion
primitives (points of `FACE_POINTS`, direction, width) into a smooth displacement field, and `render_frames`
warps the still face (cv2.remap) by that field times a rise-and-fall profile of 1 to 3 pixels. The motions
differ per class so a small model can learn them from optical flow; everything is deterministic from `seed`.
"""
from __future__ import annotations

import dataclasses
import functools

import cv2
import numpy as np

from mer_live.face import DEFAULT_MARGIN, square_box

SUPERSAMPLE = 2  # render at 2x and downsample, so sub-pixel motion is not lost to interpolation blur

# skimage.data.astronaut(): MTCNN's face box (x1, y1, x2, y2) in its 512x512 pixels.
ASTRONAUT_FACE_BOX = (181.0, 62.0, 268.0, 172.0)
# Landmark positions (x, y) on the face photo, in its pixels: where the motion primitives act.
FACE_POINTS: dict[str, tuple[int, int]] = {
    "brow_l": (205, 92), "brow_r": (247, 93), "brow_l_in": (215, 92), "brow_r_in": (236, 93),
    "lid_l": (205, 99), "lid_r": (247, 101), "nose_l": (217, 127), "nose_r": (233, 128),
    "lip_up": (224, 136), "mouth_l": (202, 140), "mouth_r": (246, 142),
}

# Motion primitives: (point of FACE_POINTS, direction (dx, dy), sigma) in astronaut pixels; the field peaks at 1.
Primitives = tuple[tuple[str, tuple[float, float], float], ...]
MOTIONS: dict[str, Primitives] = {
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


# ---------------------------------------------------------------------------------------------- rendering

@functools.lru_cache(maxsize=1)
def astronaut_photo() -> np.ndarray:
    """The bundled face photo (512x512 RGB uint8), read once."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@functools.lru_cache(maxsize=1)
def head_mask() -> np.ndarray:
    """Soft elliptical mask (float32, 0..1) of the astronaut's head and shoulders, for pasting on a background."""
    mask = np.zeros((512, 512), np.float32)
    cv2.ellipse(mask, (224, 150), (88, 150), 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), 6)


@dataclasses.dataclass(frozen=True)
class ClipLook:
    """How one subject's clips show the face: the camera and pose as an astronaut -> frame affine (may
    mirror), the brightness, the frame size and, for raw frames, the backdrop."""

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


def random_look(rng: np.random.Generator, out_hw: tuple[int, int], raw: bool) -> ClipLook:
    """A subject's look: cropped frames fill the frame with the face as mer-prepare crops it; raw frames show
    a face of about 40 % of the frame height near the centre, on a random backdrop."""
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
    background = random_backdrop(rng, out_hw) if raw else None
    return ClipLook(matrix=matrix, brightness=brightness, out_hw=out_hw, raw=raw, background=background)


def random_backdrop(rng: np.random.Generator, out_hw: tuple[int, int]) -> np.ndarray:
    """A smooth coloured backdrop with low-frequency texture (float32 RGB 0..255)."""
    height, width = out_hw
    coarse = rng.uniform(40, 200, size=(4, 5, 3)).astype(np.float32)
    base = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    texture = cv2.resize(rng.normal(0, 10, size=(24, 32, 1)).astype(np.float32), (width, height),
                         interpolation=cv2.INTER_LINEAR)[..., None]
    return np.clip(base + texture, 0, 255)


def render_still(look: ClipLook) -> np.ndarray:
    """The subject's still frame at SUPERSAMPLE resolution, float32 RGB."""
    height, width = look.out_hw
    size = (width * SUPERSAMPLE, height * SUPERSAMPLE)
    matrix = look.matrix * np.array([[SUPERSAMPLE], [SUPERSAMPLE]])
    face = cv2.warpAffine(astronaut_photo(), matrix, size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    if look.raw:
        mask = cv2.warpAffine(head_mask(), matrix, size, flags=cv2.INTER_LINEAR, borderValue=0.0)[..., None]
        backdrop = cv2.resize(look.background, size, interpolation=cv2.INTER_LINEAR)
        face = face * mask + backdrop * (1.0 - mask)
    return face * look.brightness


def motion_field(look: ClipLook, primitives: Primitives,
                 points: dict[str, tuple[int, int]] = FACE_POINTS) -> np.ndarray:
    """Displacement (H*s, W*s, 2) float32 in supersampled pixels per unit amplitude; peak magnitude 1.

    `primitives`: a class's motion (MOTIONS[name]) or any other, with its points named in `points`."""
    height, width = look.out_hw[0] * SUPERSAMPLE, look.out_hw[1] * SUPERSAMPLE
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    field = np.zeros((height, width, 2), np.float32)
    linear = look.matrix[:, :2]
    unit_scale = float(abs(np.linalg.det(linear)) ** 0.5) * SUPERSAMPLE
    for point, direction, sigma in primitives:
        cx, cy = look.map_points(np.array([points[point]], np.float64))[0] * SUPERSAMPLE
        vec = linear @ np.array(direction)
        vec = vec / (np.linalg.norm(vec) + 1e-12) * np.linalg.norm(direction)
        s = sigma * unit_scale
        bump = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * s * s))
        field[..., 0] += bump * vec[0]
        field[..., 1] += bump * vec[1]
    peak = float(np.sqrt((field ** 2).sum(-1)).max())
    return field / max(peak, 1e-6)


def rise_and_fall(length: int, apex_index: int) -> np.ndarray:
    """Rise from 0 at the first frame to 1 at the apex and back to 0 at the last (raised cosine)."""
    t = np.arange(length, dtype=np.float64)
    up = 0.5 * (1 - np.cos(np.pi * t / max(apex_index, 1)))
    down = 0.5 * (1 + np.cos(np.pi * (t - apex_index) / max(length - 1 - apex_index, 1)))
    return np.where(t <= apex_index, up, down).clip(0, 1)


def render_frames(look: ClipLook, base: np.ndarray, field: np.ndarray, displacement_px: np.ndarray,
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


def crop_to_frame_scale(look: ClipLook) -> float:
    """Frame pixels of motion per pixel of a 64-px face crop (1 for cropped frames), so raw and cropped
    data move alike."""
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
    look = random_look(rng, out_hw, raw)
    field = motion_field(look, MOTIONS[motion_for(label_name, dataset)])
    profile = rise_and_fall(num_frames, num_frames // 2) * amplitude_px * crop_to_frame_scale(look)
    return render_frames(look, render_still(look), field, profile, rng, noise)
