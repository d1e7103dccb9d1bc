"""What a trained model expects of its input: one record shared by checkpoints, ONNX metadata and the live engine.

Training writes it into every checkpoint, export copies it into the ONNX file's metadata, and the
streaming engine reads it back, so the three can never disagree on frames, size, features or classes.

Versioning: a new field gets a default that reproduces what older files meant, and adding one bumps
SPEC_VERSION. So this build reads every older spec (missing fields take their defaults) and refuses a
newer one, or one with keys it does not know, naming the mer-live that wrote it: trimming such a spec
would run the model on input it was not trained for.

Bounds: a spec read from a file is untrusted, so every size and rate in it is checked against SPEC_BOUNDS
(and the clip it implies against MAX_CLIP_VALUES and MAX_WINDOW_BYTES) before anything is sized by it: a forged
`num_frames: 1e9` must be one refused line, not gigabytes allocated.
"""
from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from importlib import metadata as importlib_metadata
from typing import Any

import mer_live
from mer_live.features import FEATURE_CHANNELS, FEATURE_MODES
from mer_live.flow import FARNEBACK_PARAMS, FLOW_BACKENDS
from mer_live.interpolation import INTERPOLATIONS

SPEC_VERSION = 2   # 2: flow_backend

# What a spec read from a file may state: wide room above the paper's models (16 frames, 224 px, 3-5 classes,
# 0.3-0.5 s clips at 100-200 fps), far below what would exhaust a machine. Integers: low..high; numbers: (low, high].
SPEC_BOUNDS: dict[str, tuple[float, float]] = {
    "num_frames": (1, 256),
    "image_size": (8, 1024),        # each side, in pixels
    "class_names": (1, 1000),       # how many classes
    "fps": (0.0, 1000.0),
    "clip_seconds": (0.0, 10.0),
}
MAX_CLIP_VALUES = 2 ** 27           # num_frames x channels x height x width of one model input: 512 MiB as float32
MAX_WINDOW_BYTES = 2 ** 30          # clip_seconds x fps RGB frames at the model's size: the live window's crops
MAX_NAME_CHARS = 100                # a class name (it heads a CSV column) or the model, variant, dataset name


class SpecVersionError(ValueError):
    """A spec written by a newer mer-live (higher spec_version, or keys this build does not know)."""


class SpecBoundsError(ValueError):
    """A spec states a value mer-live refuses to read (out of SPEC_BOUNDS, of the wrong type, an unknown
    feature): the file is forged or corrupt. The message names the field, its value and the bound."""


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
    flow_backend: str = "opencv"    # the Farneback that computed the training features: opencv | torch
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
        defaults = {f.name: f.default if f.default is not MISSING else f.default_factory() for f in fields(cls)
                    if f.default is not MISSING or f.default_factory is not MISSING}
        check_bounds({**defaults, **d})
        return cls(**{**d, "spec_version": SPEC_VERSION})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, version: str | None = None, source: str = "model spec") -> "ModelSpec":
        """`from_dict` of a JSON text (json.JSONDecodeError is a ValueError)."""
        return cls.from_dict(json.loads(text), version=version, source=source)


def _whole(name: str, value: Any) -> int:
    low, high = SPEC_BOUNDS[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecBoundsError(f"{name} {value!r} is not a whole number in {low}..{high}, the bound mer-live reads")
    return value


def _rate(name: str, value: Any) -> float:
    low, high = SPEC_BOUNDS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value)
                                                                             and low < value <= high):
        raise SpecBoundsError(f"{name} {value!r} is not a number in ({low:g}, {high:g}], the bound mer-live reads")
    return float(value)


def _name(name: str, value: Any, *, empty: bool = True) -> str:
    if not isinstance(value, str) or len(value) > MAX_NAME_CHARS or not value.isprintable() \
            or (not empty and not value.strip()):
        raise SpecBoundsError(f"{name} {str(value)[:40]!r} is not a {'' if empty else 'non-empty '}printable "
                              f"name of at most {MAX_NAME_CHARS} characters")
    return value


def check_bounds(d: dict[str, Any]) -> None:
    """Refuse a spec (as a dict, straight from a file) whose values mer-live will not size anything by.

    Raises:
        SpecBoundsError: the first value out of SPEC_BOUNDS, of the wrong type, or an unknown choice; or a
            clip of more than MAX_CLIP_VALUES values, or a live window of more than MAX_WINDOW_BYTES.
    """
    _name("model", d["model"], empty=False)
    for key in ("variant", "dataset"):
        _name(key, d[key])
    names = d["class_names"]
    low, high = SPEC_BOUNDS["class_names"]
    if not isinstance(names, (list, tuple)) or not low <= len(names) <= high:
        count = len(names) if isinstance(names, (list, tuple)) else type(names).__name__
        raise SpecBoundsError(f"class_names holds {count} classes, not a list of {low}..{high}, the bound "
                              "mer-live reads")
    for i, class_name in enumerate(names):
        _name(f"class_names[{i}]", class_name, empty=False)
    if len(set(names)) != len(names):
        raise SpecBoundsError(f"class_names {list(names)[:10]!r} repeats a class")
    frames = _whole("num_frames", d["num_frames"])
    size = d["image_size"]
    if not isinstance(size, (list, tuple)) or len(size) != 2:
        raise SpecBoundsError(f"image_size {size!r} is not [height, width]")
    height, width = (_whole("image_size", side) for side in size)
    if d["feature"] not in FEATURE_CHANNELS:
        raise SpecBoundsError(f"feature {str(d['feature'])[:40]!r} is not one of {', '.join(FEATURE_MODES)}")
    if d["interpolation"] not in INTERPOLATIONS:
        raise SpecBoundsError(f"interpolation {str(d['interpolation'])[:40]!r} is not one of "
                              f"{', '.join(INTERPOLATIONS)}")
    fps, seconds = _rate("fps", d["fps"]), _rate("clip_seconds", d["clip_seconds"])
    if not isinstance(d["flow_params"], dict):
        raise SpecBoundsError(f"flow_params is a {type(d['flow_params']).__name__}, not a mapping")
    if d["flow_backend"] not in FLOW_BACKENDS:
        raise SpecBoundsError(f"flow_backend {str(d['flow_backend'])[:40]!r} is not one of {', '.join(FLOW_BACKENDS)}")
    values = frames * FEATURE_CHANNELS[d["feature"]] * height * width
    if values > MAX_CLIP_VALUES:
        raise SpecBoundsError(f"num_frames x channels x image_size = {frames} x {FEATURE_CHANNELS[d['feature']]} x "
                              f"{height} x {width} = {values} values per clip, over the bound of {MAX_CLIP_VALUES}")
    window = math.ceil(seconds * fps) * height * width * 3
    if window > MAX_WINDOW_BYTES:
        raise SpecBoundsError(f"clip_seconds x fps = {seconds:g} s x {fps:g} frames of {height}x{width} px make a "
                              f"live window of {window / 2 ** 20:.0f} MiB, over the bound of "
                              f"{MAX_WINDOW_BYTES // 2 ** 20} MiB")
