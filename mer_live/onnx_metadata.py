"""The metadata that makes an exported ONNX file self-describing.

mer-live and `mer_live.runtime` need nothing but the .onnx file: the whole ModelSpec travels in
`metadata_props` as JSON under SPEC_KEY, beside human-readable keys for people who open the file in
Netron or `onnx` (those are informational; SPEC_KEY is what is read back). `mer_live.version` names
the mer-live that wrote the file, so a file from a newer one is refused with that version named.
"""
from __future__ import annotations

import json
import os
from typing import Mapping

from mer_live.spec import ModelSpec, SpecVersionError, mer_live_version

SPEC_KEY = "mer_live.spec"
INPUT_LAYOUT = "B,T,C,H,W"
INPUT_NAME = "clip"
OUTPUT_NAMES = ("logits", "probs")
# Keys every mer-live ONNX file carries; a file missing any of them was not exported by mer-export.
REQUIRED_KEYS = (
    SPEC_KEY,
    "mer_live.version",
    "mer_live.model",
    "mer_live.class_names",
    "mer_live.num_frames",
    "mer_live.image_size",
    "mer_live.feature",
    "mer_live.interpolation",
    "mer_live.flow_params",
    "mer_live.fps",
    "mer_live.clip_seconds",
    "mer_live.input_layout",
)


class ModelFileError(ValueError):
    """A model file mer-live cannot use: not an ONNX file at all, or (MetadataError) one without mer-live's
    metadata. The message names the file and says how to make a good one."""


class MetadataError(ModelFileError):
    """An ONNX file lacks mer-live's metadata (or holds a broken copy of it)."""


def spec_metadata(spec: ModelSpec, *, precision: str = "fp32", exporter: str = "") -> dict[str, str]:
    """All metadata_props for `spec`, as the string map ONNX stores."""
    h, w = spec.image_size
    props = {
        SPEC_KEY: spec.to_json(),
        "mer_live.version": mer_live_version(),
        "mer_live.model": spec.model,
        "mer_live.variant": spec.variant,
        "mer_live.class_names": json.dumps(list(spec.class_names)),
        "mer_live.num_frames": str(spec.num_frames),
        "mer_live.image_size": f"{h}x{w}",
        "mer_live.feature": spec.feature,
        "mer_live.interpolation": spec.interpolation,
        "mer_live.flow_params": json.dumps(spec.flow_params, sort_keys=True),
        "mer_live.fps": repr(float(spec.fps)),
        "mer_live.clip_seconds": repr(float(spec.clip_seconds)),
        "mer_live.dataset": spec.dataset,
        "mer_live.input_layout": INPUT_LAYOUT,
        "mer_live.precision": precision,
        "mer_live.outputs": ",".join(OUTPUT_NAMES),
    }
    if exporter:
        props["mer_live.exporter"] = exporter
    return props


def write_metadata(model_proto, spec: ModelSpec, *, precision: str = "fp32", exporter: str = "") -> None:
    """Set our keys in `model_proto.metadata_props` in place, replacing older copies of them."""
    props = spec_metadata(spec, precision=precision, exporter=exporter)
    kept = [(p.key, p.value) for p in model_proto.metadata_props if p.key not in props]
    del model_proto.metadata_props[:]
    for key, value in kept + list(props.items()):
        entry = model_proto.metadata_props.add()
        entry.key, entry.value = key, value


def spec_from_props(props: Mapping[str, str], source: str = "ONNX file") -> ModelSpec:
    """Read the ModelSpec back.

    Raises:
        MetadataError: keys are missing (it names them and the fix), the spec is broken, or the file
            was written by a newer mer-live (it names that version).
    """
    missing = [k for k in REQUIRED_KEYS if k not in props]
    if missing:
        raise MetadataError(
            f"{source} has no mer-live metadata (missing keys: {', '.join(missing)}); "
            "export the model with `mer-export CHECKPOINT` so the file carries its classes, frames and features"
        )
    try:
        return ModelSpec.from_json(props[SPEC_KEY], version=props.get("mer_live.version"), source=source)
    except SpecVersionError as exc:
        raise MetadataError(str(exc)) from exc
    except (ValueError, TypeError) as exc:
        raise MetadataError(f"{source}: metadata key {SPEC_KEY!r} is not a valid model spec: {exc}") from exc


def load_model_proto(path: str | os.PathLike):
    """The ONNX ModelProto without external weights; ModelFileError when the file is not ONNX."""
    import onnx

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ONNX model not found: {path} (create one with `mer-export CHECKPOINT`)")
    try:
        return onnx.load(path, load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends: the file is not an ONNX model
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(f"{path} is not an ONNX model ({detail}); give a .onnx file written by "
                             "`mer-export CHECKPOINT` (a checkpoint .pt must be exported first)") from exc


def read_metadata(path: str | os.PathLike) -> ModelSpec:
    """The ModelSpec stored in an ONNX file (weights are not needed, so external data is not loaded).

    Raises:
        FileNotFoundError: no file at `path`.
        ModelFileError: the file is not an ONNX model.
        MetadataError: its metadata is missing, broken or from a newer mer-live.
    """
    model_proto = load_model_proto(path)
    return spec_from_props({p.key: p.value for p in model_proto.metadata_props}, source=os.fspath(path))
