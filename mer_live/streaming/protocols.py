"""What the engine takes: a classifier, a face detector and a listener, as typed Protocols.

Anything with these attributes works (mer_live.runtime.OnnxClassifier, mer_live.face.FaceDetector, the
GUI's bridge, the headless runner, test fakes); nothing has to inherit from them.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from mer_live.spec import ModelSpec
from mer_live.streaming.events import FrameInfo, MicroExpressionEvent, StatusMessage, WindowResult
from mer_live.streaming.spotting import Segment


@runtime_checkable
class Classifier(Protocol):
    """Class probabilities for clips; `spec` says what input it takes (frames, size, features, classes).
    A classifier whose batch axis is fixed also has `fixed_batch` (an int): the engine then sends batches of
    exactly that size (padding the last one)."""

    spec: ModelSpec
    provider: str

    def predict(self, x: np.ndarray) -> np.ndarray:
        """x (B, T, C, H, W) float32 -> probabilities (B, num_classes) float32."""
        ...


@runtime_checkable
class FaceDetector(Protocol):
    """The largest face of an RGB frame: an object with `.box` (x1, y1, x2, y2) and optionally
    `.landmarks` (5, 2): eyes, nose, mouth corners; or None when there is no face."""

    def detect(self, frame_rgb: np.ndarray): ...


class EngineListener(Protocol):
    """Callbacks from the engine's threads (a GUI must hand them to its UI thread). Every method is
    optional: the engine skips what a listener does not define."""

    def on_frame(self, info: FrameInfo) -> None: ...
    def on_result(self, result: WindowResult) -> None: ...
    def on_event(self, event: MicroExpressionEvent) -> None: ...
    def on_segment(self, segment: Segment) -> None: ...    # every motion the region spotter decided
    def on_status(self, message: StatusMessage) -> None: ...
    def on_finished(self) -> None: ...
