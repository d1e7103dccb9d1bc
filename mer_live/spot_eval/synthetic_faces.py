"""Faces for the synthetic long videos: an RGB image, its five facial landmarks, and the facial points and
regions derived from them, so any frontal face photo can be animated the same way.

The astronaut photo (skimage.data.astronaut(), bundled, the face `mer_live.synthetic.render` also renders) comes
with its landmarks measured once by MTCNN; any other image (e.g. a neutral frame of a real video, given by
path from a test or benchmark) has its landmarks found by MTCNN when it is loaded.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

# MTCNN's face box and five landmarks on skimage.data.astronaut() (x, y in its 512x512 pixels): eyes (image
# left, image right), nose, mouth corners (image left, image right). Measured with mer_live.face.FaceDetector.
ASTRONAUT_BOX = (181.1, 62.2, 267.7, 172.1)
ASTRONAUT_LANDMARKS = ((205.0, 101.7), (246.8, 103.7), (224.7, 129.0), (201.7, 139.2), (245.3, 141.9))

# Facial points as offsets from a landmark, in units of the eye distance d along u (from the image-left eye
# to the image-right eye) and v (u turned 90 degrees, towards the mouth). "l" is the image-left side.
POINTS = {
    "brow_out_l": ("eye_l", -0.18, -0.34), "brow_out_r": ("eye_r", 0.18, -0.34),
    "brow_in_l": ("eye_l", 0.22, -0.30), "brow_in_r": ("eye_r", -0.22, -0.30),
    "lid_l": ("eye_l", 0.0, -0.07), "lid_r": ("eye_r", 0.0, -0.07),
    "cheek_l": ("eye_l", -0.05, 0.38), "cheek_r": ("eye_r", 0.05, 0.38),
    "nose_l": ("nose", -0.22, 0.02), "nose_r": ("nose", 0.22, 0.02),
    "mouth_l": ("mouth_l", 0.0, 0.0), "mouth_r": ("mouth_r", 0.0, 0.0),
    "lip_up": ("mouth_c", 0.0, -0.12), "lip_low": ("mouth_c", 0.0, 0.14), "chin": ("mouth_c", 0.0, 0.50),
    "eye_l": ("eye_l", 0.0, 0.0), "eye_r": ("eye_r", 0.0, 0.0),
}


@dataclasses.dataclass(frozen=True)
class FaceImage:
    """A face photo, its MTCNN box and five landmarks (float64, x, y in the image's pixels)."""

    image: np.ndarray            # (H, W, 3) RGB uint8
    landmarks: np.ndarray        # (5, 2)
    box: np.ndarray              # (4,) x1, y1, x2, y2
    name: str

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))

    @property
    def crop_in_eye_distances(self) -> float:
        """The side of the face crop the live engine takes (mer_live.face.square_box: the box's longer side
        x (1 + margin)), in eye distances: what turns "pixels in a 64-px crop" into pixels of this face."""
        from mer_live.face import DEFAULT_MARGIN

        x1, y1, x2, y2 = self.box
        return max(x2 - x1, y2 - y1) * (1 + DEFAULT_MARGIN) / self.eye_distance

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit vectors u (image-left eye -> image-right eye) and v (towards the mouth)."""
        u = self.landmarks[1] - self.landmarks[0]
        u = u / np.linalg.norm(u)
        v = np.array([-u[1], u[0]])
        if np.dot(v, self.landmarks[3:].mean(0) - self.landmarks[:2].mean(0)) < 0:
            v = -v
        return u, v

    def points(self) -> dict[str, np.ndarray]:
        """Every named facial point (POINTS) in image pixels."""
        eye_l, eye_r, nose, mouth_l, mouth_r = self.landmarks
        anchors = {"eye_l": eye_l, "eye_r": eye_r, "nose": nose, "mouth_l": mouth_l, "mouth_r": mouth_r,
                   "mouth_c": (mouth_l + mouth_r) / 2}
        u, v = self.axes()
        d = self.eye_distance
        return {name: anchors[a] + d * (du * u + dv * v) for name, (a, du, dv) in POINTS.items()}

    def centre(self) -> np.ndarray:
        """Middle of the face (between the eyes and the mouth)."""
        return (self.landmarks[:2].mean(0) + self.landmarks[3:].mean(0)) / 2


def astronaut_face() -> FaceImage:
    from skimage import data

    return FaceImage(image=np.ascontiguousarray(data.astronaut()), landmarks=np.array(ASTRONAUT_LANDMARKS),
                     box=np.array(ASTRONAUT_BOX), name="astronaut (skimage)")


def face_from_image(image_rgb: np.ndarray, name: str, detector=None) -> FaceImage:
    """A FaceImage of a frontal face photo; MTCNN finds its landmarks. ValueError when it finds no face."""
    if detector is None:
        from mer_live.face import FaceDetector

        detector = FaceDetector()
    face = detector.detect(np.ascontiguousarray(image_rgb))
    if face is None:
        raise ValueError(f"no face found in {name}; give a frontal, well lit face photo")
    return FaceImage(image=np.ascontiguousarray(image_rgb), landmarks=np.asarray(face.landmarks, np.float64),
                     box=np.asarray(face.box, np.float64), name=name)


def face_from_file(path: str | Path, detector=None) -> FaceImage:
    """A face photo from an image file, or the first frame of a video file at `path#seconds` (e.g.
    `clip.mp4#2.5`); its landmarks found by MTCNN."""
    import cv2

    text = str(path)
    at_s = None
    if "#" in text:
        text, _, seconds = text.rpartition("#")
        at_s = float(seconds)
    file = Path(text)
    if not file.is_file():
        raise ValueError(f"face image {file} does not exist")
    if at_s is None:
        bgr = cv2.imread(str(file), cv2.IMREAD_COLOR)
    else:
        cap = cv2.VideoCapture(str(file))
        cap.set(cv2.CAP_PROP_POS_MSEC, at_s * 1000.0)
        ok, bgr = cap.read()
        cap.release()
        bgr = bgr if ok else None
    if bgr is None:
        raise ValueError(f"cannot read a face image from {path}")
    return face_from_image(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), file.name + (f"@{at_s}s" if at_s else ""), detector)
