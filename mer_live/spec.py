"""What a trained model expects of its input: one record shared by checkpoints, ONNX metadata and the live engine.

Training writes it into every checkpoint, export copies it into the ONNX file's metadata, and the
streaming engine reads it back, so the three can never disagree on frames, size, features or classes.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from mer_live.flow import FARNEBACK_PARAMS

SPEC_VERSION = 1


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to turn raw frames into the tensor a model takes, and to read its output."""

    model: str                      # registry name, e.g. "ch3_1_fusion_cnn_like"
    class_names: tuple[str, ...]    # index order of the logits
    num_frames: int = 16            # time steps the model sees (flow pairs for *_OF modes)
    image_size: tuple[int, int] = (224, 224)   # (height, width) of the face crop given to the model
    feature: str = "GRAY_OF"        # RGB | GRAY | GRAY_OF | ONLY_OF | RGB_OF
    interpolation: str = "linear"   # linear | tim
    variant: str = "base"           # model size (see mer_live.models)
    fps: float = 100.0              # frame rate of the training data
    clip_seconds: float = 0.5       # typical clip duration of the training data (live window length)
    dataset: str = ""               # training dataset name, e.g. "SMIC"
    flow_params: dict[str, Any] = field(default_factory=lambda: dict(FARNEBACK_PARAMS))
    spec_version: int = SPEC_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_names", tuple(self.class_names))
        object.__setattr__(self, "image_size", tuple(int(v) for v in self.image_size))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["class_names"] = list(self.class_names)
        d["image_size"] = list(self.image_size)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelSpec":
        known = {f.name for f in fields(cls)}
        missing = [k for k in ("model", "class_names") if k not in d]
        if missing:
            raise ValueError(f"model spec is missing {missing}; it was not written by mer-live")
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelSpec":
        return cls.from_dict(json.loads(text))
