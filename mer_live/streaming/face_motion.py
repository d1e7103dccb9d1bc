"""Motion that belongs to the face, not the head: per-region optical flow with the head's rigid motion removed.

The spotter's own measurement, independent of any classifier and of the model's input: the tracker's face
crop is brought to a small gray square (`size`, 128 px by default), its brightness normalised (mean and
spread, so a lighting step does not read as motion), and registered to a reference frame of the face
(`FaceMotion.register`): the frame is brought back through the transform the head is predicted to have,
Farneback flow is taken against the reference, a robust affine fit to the flow of the face less its
expressive regions (translation, in-plane rotation, scale, shear: the head moving as one piece) is
subtracted, and what remains is averaged in facial regions placed from MTCNN's five landmarks: brows,
eyelids, nose wings, mouth corners, chin. The fit is the reference that MDMD takes from the nose region
alone: a nose bridge region moved with a nose wrinkle (robust z 41-52 against 55-73 at the nose wings) on
the tuning streams, a fit over the whole face does not.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Farneback at the spotter's scale: a small window (a fourteenth of the 128-px crop) keeps the brows apart
# from the eyelids and sees a few pixels of local motion that a 64-px crop averages away (the choice of 128:
# docs/SPOTTER_TUNING.md, "A finer crop").
SPOT_FLOW_PARAMS = dict(pyr_scale=0.5, levels=2, winsize=9, iterations=3, poly_n=5, poly_sigma=1.1, flags=0)

# Where MTCNN's five points sit in the tracker's square crop (margin 0.2) of a frontal face, as fractions
# of the side (measured on the bundled face photo): used when no landmarks are known (face="full").
CANONICAL_LANDMARKS = np.array([[0.352, 0.384], [0.668, 0.399], [0.5, 0.59], [0.327, 0.668], [0.657, 0.688]])

# Regions: (group, centre offset along the eye line u and down v, in interocular distances, from an
# anchor point; half width, half height in interocular distances).
REGION_LAYOUT: dict[str, tuple[str, str, float, float, float, float]] = {
    "brow_l": ("brows", "eye_l", 0.0, -0.30, 0.24, 0.12),
    "brow_r": ("brows", "eye_r", 0.0, -0.30, 0.24, 0.12),
    "eye_l": ("eyes", "eye_l", 0.0, 0.02, 0.18, 0.09),
    "eye_r": ("eyes", "eye_r", 0.0, 0.02, 0.18, 0.09),
    "nose_l": ("nose", "nose", -0.22, -0.02, 0.10, 0.10),
    "nose_r": ("nose", "nose", 0.22, -0.02, 0.10, 0.10),
    "mouth_l": ("mouth", "mouth_l", 0.0, 0.0, 0.14, 0.12),
    "mouth_r": ("mouth", "mouth_r", 0.0, 0.0, 0.14, 0.12),
    "chin": ("jaw", "mouth_mid", 0.0, 0.45, 0.30, 0.14),
}
REGION_NAMES = tuple(REGION_LAYOUT)
MIN_FIT_POINTS = 12    # fewer points of the face's rigid part than this in the crop: no fit
REGION_GROUPS = tuple(dict.fromkeys(group for group, *_ in REGION_LAYOUT.values()))


@dataclass(frozen=True)
class FaceRegions:
    """Integer boxes (x1, y1, x2, y2) of each region in a `size` x `size` crop, and the affine fit's points."""

    boxes: np.ndarray               # (R, 4) int, in REGION_NAMES order
    fit_points: np.ndarray          # (P, 2) int (x, y): where the head's rigid motion is fitted
    interocular: float              # pixels at the spotter's size

    @classmethod
    def from_landmarks(cls, landmarks: np.ndarray, size: int, fit_step: int = 2) -> "FaceRegions":
        """`landmarks` (5, 2): MTCNN's eyes, nose, mouth corners in crop pixels at `size`."""
        pts = np.asarray(landmarks, np.float64).reshape(5, 2)
        eye_l, eye_r, nose, mouth_l, mouth_r = pts
        axis = eye_r - eye_l
        d = float(np.hypot(*axis))
        if not np.isfinite(d) or d < 2.0:
            raise ValueError(f"landmarks too close to place facial regions: {pts.tolist()}")
        u = axis / d
        v = np.array([-u[1], u[0]])
        anchors = {"eye_l": eye_l, "eye_r": eye_r, "nose": nose, "mouth_l": mouth_l, "mouth_r": mouth_r,
                   "mouth_mid": (mouth_l + mouth_r) / 2}
        boxes = []
        for _, anchor, du, dv, hw, hh in REGION_LAYOUT.values():
            c = anchors[anchor] + (du * u + dv * v) * d
            x1, x2 = int(np.floor(c[0] - hw * d)), int(np.ceil(c[0] + hw * d)) + 1
            y1, y2 = int(np.floor(c[1] - hh * d)), int(np.ceil(c[1] + hh * d)) + 1
            x1, y1 = min(max(x1, 0), size - 1), min(max(y1, 0), size - 1)
            boxes.append((x1, y1, max(min(x2, size), x1 + 1), max(min(y2, size), y1 + 1)))
        # the face as an ellipse around the landmarks, less the expressive regions (grown by half): the
        # head's rigid motion is fitted there, so a brow or mouth motion does not read as the head moving
        centre = pts.mean(axis=0) - 0.25 * d * v
        ys, xs = np.mgrid[0:size:fit_step, 0:size:fit_step]
        rel = np.stack([xs - centre[0], ys - centre[1]], axis=-1).astype(np.float64)
        a, b = rel @ u / (1.05 * d), rel @ v / (1.35 * d)
        inside = a * a + b * b <= 1.0
        for x1, y1, x2, y2 in boxes:
            gx, gy = (x2 - x1) / 4, (y2 - y1) / 4
            inside &= ~((xs >= x1 - gx) & (xs < x2 + gx) & (ys >= y1 - gy) & (ys < y2 + gy))
        fit_points = np.stack([xs[inside], ys[inside]], axis=-1).astype(np.int64)
        if len(fit_points) < MIN_FIT_POINTS:      # landmarks off the crop (a wrong face, a box left behind)
            raise ValueError(f"landmarks leave {len(fit_points)} points of the face in the crop to fit the head's "
                             f"motion on (at least {MIN_FIT_POINTS} needed): {pts.round(1).tolist()}")
        return cls(boxes=np.asarray(boxes, np.int64), fit_points=fit_points, interocular=d)

    @classmethod
    def canonical(cls, size: int) -> "FaceRegions":
        return cls.from_landmarks(CANONICAL_LANDMARKS * size, size)


def normalised_gray(crop_rgb: np.ndarray, size: int) -> np.ndarray:
    """The crop as a `size` square gray uint8 with its central part's mean and spread fixed (128, 40):
    a brightness or contrast step between two frames then changes nothing the flow sees."""
    gray = crop_rgb if crop_rgb.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(crop_rgb), cv2.COLOR_RGB2GRAY)
    if gray.shape != (size, size):
        gray = cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA)
    core = gray[size // 4: size - size // 4, size // 4: size - size // 4]
    mean, std = cv2.meanStdDev(core)
    scale = 40.0 / max(float(std[0, 0]), 1.0)
    return cv2.convertScaleAbs(gray, alpha=scale, beta=128.0 - scale * float(mean[0, 0]))


def flow(prev_gray: np.ndarray, next_gray: np.ndarray) -> np.ndarray:
    """Farneback flow (H, W, 2) float32 at the spotter's scale."""
    return cv2.calcOpticalFlowFarneback(prev_gray, next_gray, None, **SPOT_FLOW_PARAMS)


def rigid_fit(flow_uv: np.ndarray, points: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Robust (Huber-weighted least squares) affine motion (2, 3) of the points: the head moving as a whole."""
    design = np.empty((len(points), 3))
    design[:, 0], design[:, 1], design[:, 2] = points[:, 0], points[:, 1], 1.0
    target = flow_uv[points[:, 1], points[:, 0]].astype(np.float64)
    weights = np.ones(len(points))
    params = np.zeros((3, 2))
    middle = len(points) // 2
    for _ in range(iterations):
        weighted = design * weights[:, None]
        params = np.linalg.solve(weighted.T @ design + 1e-9 * np.eye(3), weighted.T @ target)   # normal equations
        residual = np.hypot(*(target - design @ params).T)
        k = 1.5 * (1.4826 * float(np.partition(residual, middle)[middle]) + 1e-3)
        weights = np.minimum(1.0, k / np.maximum(residual, 1e-9))
    return params.T


def residual_flow(flow_uv: np.ndarray, affine: np.ndarray, grid: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The flow minus the affine motion: what the face did beyond moving as one piece."""
    xs, ys = grid
    fx = affine[0, 0] * xs + affine[0, 1] * ys + affine[0, 2]
    fy = affine[1, 0] * xs + affine[1, 1] * ys + affine[1, 2]
    return flow_uv - np.stack([fx, fy], axis=-1).astype(np.float32)


def region_means(uv: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(R, 2): the mean flow vector inside each region box (coherent motion; noise averages out)."""
    return np.array([uv[y1:y2, x1:x2].reshape(-1, 2).mean(axis=0) for x1, y1, x2, y2 in boxes], np.float32)


class FaceMotion:
    """Measures region motion between two normalised gray crops of one face at `size`."""

    def __init__(self, size: int = 128, rigid: bool = True):
        self.size = int(size)
        self.rigid = rigid
        ys, xs = np.mgrid[0:self.size, 0:self.size].astype(np.float32)
        self._grid = (xs, ys)
        self.regions = FaceRegions.canonical(self.size)

    def set_landmarks(self, landmarks_px: np.ndarray | None) -> None:
        """Place the regions from landmarks in crop pixels at this size (None: a canonical frontal face)."""
        self.regions = (FaceRegions.canonical(self.size) if landmarks_px is None
                        else FaceRegions.from_landmarks(landmarks_px, self.size))

    def register(self, reference: np.ndarray, gray: np.ndarray, predicted: np.ndarray) -> Registered:
        """Bring `gray` back onto `reference` through `predicted` (the last frame's transform: the head moves
        little from frame to frame), take the flow of what is left, fit the head's remaining rigid motion
        and measure the regions (placed in the reference's coordinates) net of it. The flow is always taken
        on a small remainder, so a head that travelled far since the reference is followed as well as one
        that did not."""
        steady = cv2.warpAffine(gray, np.asarray(predicted, np.float32), (self.size, self.size),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        uv = flow(reference, steady)
        if self.rigid:
            delta = rigid_fit(uv, self.regions.fit_points)
            uv = residual_flow(uv, delta, self._grid)
        else:
            delta = np.zeros((2, 3))
        pts = self.regions.fit_points
        left = uv[pts[:, 1], pts[:, 0]]
        residual = float(np.median(np.hypot(left[:, 0], left[:, 1])))
        transform = compose(predicted, IDENTITY + delta)
        return Registered(transform=transform, vectors=region_means(uv, self.regions.boxes), residual=residual)

def to_matrix(transform: np.ndarray) -> np.ndarray:
    """A (2, 3) point transform as a (3, 3) homogeneous matrix."""
    return np.vstack([np.asarray(transform, np.float64), [0.0, 0.0, 1.0]])


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """(2, 3): the point transform `outer` applied after `inner`."""
    return (to_matrix(outer) @ to_matrix(inner))[:2]


def invert(transform: np.ndarray) -> np.ndarray:
    """(2, 3): the inverse point transform."""
    return np.linalg.inv(to_matrix(transform))[:2]


def map_points(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (N, 2) through a (2, 3) point transform."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    return pts @ np.asarray(transform, np.float64)[:, :2].T + np.asarray(transform, np.float64)[:, 2]


def unmap_points(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (N, 2) through the inverse of a (2, 3) point transform."""
    return map_points(invert(transform), points)


IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class Registered:
    """One frame registered to the reference frame of a face."""

    transform: np.ndarray           # (2, 3): a point of the reference crop -> where it is in this frame's crop
    vectors: np.ndarray             # (R, 2): each region's displacement since the reference, head motion removed
    residual: float                 # median flow left on the face's rigid part after the fit (pixels at `size`):
                                    # how well the head's motion was undone
