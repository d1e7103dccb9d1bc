"""What a trained model expects of its input: one record shared by checkpoints, ONNX metadata and the live engine.

Training writes it into every checkpoint, export copies it into the ONNX file's metadata, and the
streaming engine reads it back, so the three can never disagree on frames, size, features or classes.

Versioning: a new field gets a default that reproduces what older files meant, and adding one bumps
SPEC_VERSION. So this build reads every older spec (missing fields take their defaults) and refuses a
newer one, or one with keys it does not know, naming the mer-live that wrote it: trimming such a spec
would run the model on input it was not trained for.
"""
from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from importlib import metadata as importlib_metadata
from typing import Any

import mer_live
from mer_live.flow import FARNEBACK_PARAMS

SPEC_VERSION = 1


class SpecVersionError(ValueError):
    """A spec written by a newer mer-live (higher spec_version, or keys this build does not know)."""


def mer_live_version() -> str:
    """The version of this mer-live, recorded in every file it writes (the installed one, else the source's)."""
    try:
        return importlib_metadata.version("mer-live")
    except importlib_metadata.PackageNotFoundError:
        return mer_live.__version__


def written_by(version: str | None) -> str:
    """'mer-live 0.2.0' for a recorded version; files from before versions were recorded say so."""
    if not version or version == "unknown":   # "unknown": written from a source tree by mer-live 0.1.0
        return "a mer-live that did not record its version"
    return f"mer-live {version}"


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
    def from_dict(cls, d: dict[str, Any], *, version: str | None = None, source: str = "model spec") -> "ModelSpec":
        """Read a spec of this or an older SPEC_VERSION; the result is a current spec.

        `version` is the mer-live version recorded beside the spec (None when the file has none) and
        `source` names the file; both only go into the message when the spec is refused.

        Raises:
            SpecVersionError: the spec comes from a newer mer-live (higher spec_version or unknown keys).
            ValueError: it lacks a required field or has a spec_version that is not a positive integer.
        """
        if not isinstance(d, dict):
            raise ValueError(f"model spec is a {type(d).__name__}, not a mapping; it was not written by mer-live")
        spec_version = d.get("spec_version", 1)
        if isinstance(spec_version, bool) or not isinstance(spec_version, int) or spec_version < 1:
            raise ValueError(f"spec_version {spec_version!r} is not a positive integer")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in d if k not in known)
        if spec_version > SPEC_VERSION or unknown:
            what = (f"model spec version {spec_version}" if spec_version > SPEC_VERSION
                    else f"model spec keys this mer-live does not know ({', '.join(unknown)})")
            raise SpecVersionError(
                f"{source} was written by {written_by(version)} with {what}; this mer-live {mer_live_version()} "
                f"reads model spec versions up to {SPEC_VERSION}: upgrade mer-live to the version that wrote it "
                "(or newer) to use this file"
            )
        missing = [f.name for f in fields(cls)
                   if f.default is MISSING and f.default_factory is MISSING and f.name not in d]
        if missing:
            raise ValueError(f"model spec is missing {missing}; it was not written by mer-live")
        return cls(**{**d, "spec_version": SPEC_VERSION})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, version: str | None = None, source: str = "model spec") -> "ModelSpec":
        """`from_dict` of a JSON text (json.JSONDecodeError is a ValueError)."""
        return cls.from_dict(json.loads(text), version=version, source=source)
