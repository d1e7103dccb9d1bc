"""The metadata that makes an exported ONNX file self-describing.

mer-live and `mer_live.runtime` need nothing but the .onnx file: the whole ModelSpec travels in
`metadata_props` as JSON under SPEC_KEY, beside human-readable keys for people who open the file in
Netron or `onnx` (those are informational; SPEC_KEY is what is read back). `mer_live.version` names
the mer-live that wrote the file, so a file from a newer one is refused with that version named.

The metadata is checked against the graph it describes (`check_graph`) when a model loads: a file whose
metadata was edited or copied from another model is refused in one line, not met by a shape error in the
middle of a run or a CSV with more columns than class names.
"""
from __future__ import annotations

import json
import os
from typing import Mapping

from mer_live.features import FEATURE_CHANNELS
from mer_live.spec import ModelSpec, SpecVersionError, mer_live_version

SPEC_KEY = "mer_live.spec"
INPUT_LAYOUT = "B,T,C,H,W"
INPUT_NAME = "clip"
OUTPUT_NAMES = ("logits", "probs")
MAX_FIXED_BATCH = 1024              # a batch fixed in the graph is allocated at load (warm-up): bound it
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
        "mer_live.flow_backend": spec.flow_backend,
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


def output_name(names: list[str]) -> str:
    """The output mer-live reads: "probs" when the graph has it, else its first output (logits)."""
    return "probs" if "probs" in names else names[0]


def check_graph(model_proto, spec: ModelSpec, source: str = "ONNX file") -> None:
    """Refuse a graph that does not take or give what its metadata says, before a session is built.

    The input must be one float clip (B, T, C, H, W) with T, C, H, W fixed and equal to the spec's frames,
    feature channels and image size (a fixed batch at most MAX_FIXED_BATCH); the output read must be
    (B, K) with K, when fixed, the number of class names (a dynamic K is checked by the runtime's warm-up).

    Raises:
        MetadataError: the first disagreement, naming what the graph has and what the metadata says.
    """
    from onnx import TensorProto

    fix = ("export the model again with `mer-export CHECKPOINT` (its metadata was edited or copied from "
           "another model)")
    graph = model_proto.graph
    weights = {init.name for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    if len(inputs) != 1:
        raise MetadataError(f"{source}: the graph takes {len(inputs)} inputs, but a mer-live model takes one "
                            f"clip ({INPUT_LAYOUT}); {fix}")
    tensor = inputs[0].type.tensor_type
    if tensor.elem_type not in (TensorProto.FLOAT, TensorProto.FLOAT16):
        raise MetadataError(f"{source}: the graph's input is of type "
                            f"{TensorProto.DataType.Name(tensor.elem_type)}, not float; {fix}")
    dims = list(tensor.shape.dim) if tensor.HasField("shape") else None
    if dims is None or len(dims) != 5:
        rank = "of unknown rank" if dims is None else f"of rank {len(dims)}"
        raise MetadataError(f"{source}: the graph's input is {rank}, but the metadata says {INPUT_LAYOUT} "
                            f"(rank 5); {fix}")
    channels = FEATURE_CHANNELS[spec.feature]
    expected = (spec.num_frames, channels, *spec.image_size)
    found = []
    for axis, dim in zip("TCHW", dims[1:]):
        if not dim.HasField("dim_value"):
            raise MetadataError(f"{source}: axis {axis} of the graph's input is not fixed "
                                f"({dim.dim_param or 'unnamed'}); mer-live models fix T, C, H and W; {fix}")
        found.append(dim.dim_value)
    if tuple(found) != expected:
        t, c, h, w = found
        raise MetadataError(f"{source}: the graph takes clips of {t} frames x {c} channels x {h}x{w} px, but its "
                            f"metadata says {spec.num_frames} frames x {channels} channels ({spec.feature}) x "
                            f"{spec.image_size[0]}x{spec.image_size[1]} px; {fix}")
    batch = dims[0]
    if batch.HasField("dim_value") and not 1 <= batch.dim_value <= MAX_FIXED_BATCH:
        raise MetadataError(f"{source}: the graph fixes a batch of {batch.dim_value} clips, outside "
                            f"1..{MAX_FIXED_BATCH}; {fix}")
    if not graph.output:
        raise MetadataError(f"{source}: the graph has no outputs; {fix}")
    read = output_name([o.name for o in graph.output])
    out = next(o for o in graph.output if o.name == read).type.tensor_type
    out_dims = list(out.shape.dim) if out.HasField("shape") else None
    if out_dims is not None and len(out_dims) != 2:
        raise MetadataError(f"{source}: the graph's output {read!r} is of rank {len(out_dims)}, not (B, classes); "
                            f"{fix}")
    if out_dims is not None and out_dims[1].HasField("dim_value") and out_dims[1].dim_value != spec.num_classes:
        raise MetadataError(f"{source}: the graph gives {out_dims[1].dim_value} class scores, but its metadata "
                            f"names {spec.num_classes} classes ({', '.join(spec.class_names)}); {fix}")
