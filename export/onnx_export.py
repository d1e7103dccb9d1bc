"""Checkpoint -> verified, self-describing ONNX file.

The exported graph takes `clip` (B, T, C, H, W) and gives `logits` and `probs` (softmax, float32 even
for an fp16 model, so the live app never needs its own softmax). The file carries the whole ModelSpec in
its metadata (mer_live.onnx_metadata) and is only written (atomically) once ONNX's checker and ONNX
Runtime agree with PyTorch on the same inputs (export.verify). It carries nothing of the machine that
built it: the exporters' debugging records (torch.export's per-node stack traces with source file paths,
FX nodes, module names; doc strings) are removed (`strip_source_info`).
"""
from __future__ import annotations

import io
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import onnx
import torch
from torch import nn

from mer_live.atomic import atomic_path, check_writable
from mer_live.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from mer_live.suggest import unknown_choice
from mer_live.onnx_metadata import INPUT_NAME, OUTPUT_NAMES, write_metadata
from mer_live.spec import ModelSpec

from export.verify import VerificationReport, verify_export

DEFAULT_OPSET = 18


def supported_opsets(exporter: str = "auto") -> tuple[int, int]:
    """(lowest, highest) ONNX opset the installed torch.onnx exporter can write, so `--opset 999` is refused
    when parsed instead of failing (or quietly writing another opset) minutes later."""
    from torch.onnx import _constants as limits   # private, but the only record of the installed range
    low = getattr(limits, "ONNX_MIN_OPSET", 7)
    high = getattr(limits, "ONNX_MAX_OPSET", DEFAULT_OPSET)
    if exporter == "legacy":                      # the TorchScript exporter stops earlier than torch.export
        high = min(high, getattr(limits, "ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", high))
    return low, high

EXPORTERS = ("auto", "dynamo", "legacy")
MAX_BATCH = 1024


class ExportError(RuntimeError):
    """The export could not start or did not produce a model that matches PyTorch."""


@dataclass
class ExportResult:
    checkpoint: Path
    output: Path
    spec: ModelSpec
    exporter: str                   # "legacy" (TorchScript, dynamo=False) or "dynamo" (torch.export)
    fallback_reason: str | None     # why the TorchScript exporter was not used, when auto fell back
    precision: str                  # "fp32" | "fp16"
    dynamic_batch: bool
    verification: VerificationReport
    seconds: float
    size_bytes: int


class _ClassifierOutputs(nn.Module):
    """Wraps a model so the graph returns logits and float32 probabilities."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.model(clip)
        return logits, torch.softmax(logits.float(), dim=-1)


def default_output_path(checkpoint: Path, fp16: bool) -> Path:
    """model.pt -> model.onnx (fp16: model.fp16.onnx, so both can sit beside one checkpoint)."""
    return checkpoint.with_suffix(".fp16.onnx" if fp16 else ".onnx")


def model_from_checkpoint(ckpt: Checkpoint, source: Path) -> nn.Module:
    """The checkpoint's network in eval mode; unknown models and mismatched weights are clear errors."""
    from mer_live.models import MODEL_NAMES, create_model

    spec = ckpt.spec
    if spec.model not in MODEL_NAMES:
        raise ExportError(
            f"{source}: unknown model {spec.model!r} in checkpoint; this mer-live knows {', '.join(MODEL_NAMES)} "
            "(was it trained by a newer mer-live? upgrade mer-live)"
        )
    try:
        model = create_model(spec.model, spec.num_classes, num_frames=spec.num_frames,
                             image_size=spec.image_size, variant=spec.variant)
    except (ValueError, KeyError, TypeError) as exc:
        raise ExportError(f"{source}: cannot build {spec.model} (variant {spec.variant!r}) from its spec: {exc}") from exc
    try:
        model.load_state_dict(ckpt.state_dict, strict=True)
    except (RuntimeError, TypeError, ValueError, AttributeError) as exc:   # a bad model file: status 6
        raise CheckpointError(f"{source}: weights do not fit {spec.model} variant {spec.variant!r}: {_misfit(exc)} "
                              "(the checkpoint's spec and weights disagree; re-train or re-save it)") from exc
    return model.eval()


def _misfit(exc: Exception, width: int = 160) -> str:
    """The first of PyTorch's load_state_dict complaints (missing keys, a size mismatch...), cut to one
    short clause: its lines list every key."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if lines and lines[0].startswith("Error(s) in loading state_dict"):
        lines = lines[1:]
    if not lines:
        return type(exc).__name__
    first = lines[0] if len(lines[0]) <= width else lines[0][:width - 3] + "..."
    return first + (f" (and {len(lines) - 1} more)" if len(lines) > 1 else "")


def example_input(spec: ModelSpec, batch: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    from mer_live.features import FEATURE_CHANNELS

    h, w = spec.image_size
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, spec.num_frames, FEATURE_CHANNELS[spec.feature], h, w, generator=generator)
    return x.to(dtype)


def _export_dynamo(wrapped: nn.Module, x: torch.Tensor, opset: int, dynamic_batch: bool) -> onnx.ModelProto:
    dynamic_shapes = {"clip": {0: torch.export.Dim("batch", min=1, max=MAX_BATCH)}} if dynamic_batch else None
    program = torch.onnx.export(wrapped, (x,), dynamo=True, input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES),
                                opset_version=opset, dynamic_shapes=dynamic_shapes, verbose=False,
                                external_data=False, optimize=True)
    return program.model_proto


def _export_legacy(wrapped: nn.Module, x: torch.Tensor, opset: int, dynamic_batch: bool) -> onnx.ModelProto:
    dynamic_axes = {name: {0: "batch"} for name in (INPUT_NAME, *OUTPUT_NAMES)} if dynamic_batch else None
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # TracerWarnings about shape-dependent Python branches (padding to the window size) are expected:
        # only the batch axis is dynamic, and verification runs a second batch size to prove it.
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapped, (x,), buffer, dynamo=False, input_names=[INPUT_NAME],
                          output_names=list(OUTPUT_NAMES), opset_version=opset, dynamic_axes=dynamic_axes,
                          do_constant_folding=True)
    return onnx.load_from_string(buffer.getvalue())


def strip_source_info(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Remove every node's metadata and every doc string, in place, in the graph, its subgraphs and functions.

    torch.export (dynamo=True) records on each node its Python stack trace (absolute paths of the source
    files, site-packages included), FX node, module names and optimiser rule names; none of it runs.
    The model's own metadata (the ModelSpec, written after this) stays.
    """
    def clean_graph(graph: onnx.GraphProto) -> None:
        graph.doc_string = ""
        del graph.metadata_props[:]
        for value in (*graph.input, *graph.output, *graph.value_info, *graph.initializer):
            value.doc_string = ""
            del value.metadata_props[:]
        for node in graph.node:
            clean_node(node)

    def clean_node(node: onnx.NodeProto) -> None:
        node.doc_string = ""
        del node.metadata_props[:]
        for attribute in node.attribute:
            attribute.doc_string = ""
            if attribute.HasField("g"):
                clean_graph(attribute.g)
            for subgraph in attribute.graphs:
                clean_graph(subgraph)

    proto.doc_string = ""
    clean_graph(proto.graph)
    for function in proto.functions:
        function.doc_string = ""
        del function.metadata_props[:]
        for value in function.value_info:
            value.doc_string = ""
            del value.metadata_props[:]
        for node in function.node:
            clean_node(node)
    return proto


def to_onnx(model: nn.Module, spec: ModelSpec, *, opset: int = DEFAULT_OPSET, fp16: bool = False,
            dynamic_batch: bool = True, exporter: str = "auto",
            report: Callable[[str], None] = print) -> tuple[onnx.ModelProto, str, str | None]:
    """Export `model` (eval mode, float32; it is not modified) -> (proto, exporter used, fallback reason);
    the proto holds no source paths (`strip_source_info`).

    "auto" uses the TorchScript exporter (dynamo=False) and falls back to torch.export (dynamo=True) only
    with a reported reason. Both export every model family and verify, and the two graphs run equally fast
    in ONNX Runtime; torch.export is the slower to export, and on the paper's base model its onnxscript
    optimiser can take longer than a user waits (`benchmarks/bench_onnx.py --exporter legacy|dynamo`
    prints each one's export time). Once PyTorch removes the TorchScript exporter, "auto" ends up on
    torch.export by the reported fallback.
    """
    if exporter not in EXPORTERS:
        raise ExportError(unknown_choice("exporter", exporter, EXPORTERS))
    dtype = torch.float16 if fp16 else torch.float32
    wrapped = _ClassifierOutputs(model).eval()
    if fp16:
        import copy

        wrapped = copy.deepcopy(wrapped).half()
    # torch.export specialises a size-1 axis, so a dynamic batch needs an example batch of 2.
    x = example_input(spec, 2 if dynamic_batch else 1, dtype)
    fallback_reason = None
    with torch.no_grad():
        if exporter in ("auto", "legacy"):
            try:
                return strip_source_info(_export_legacy(wrapped, x, opset, dynamic_batch)), "legacy", None
            except Exception as exc:  # noqa: BLE001 - any exporter failure: fall back, and say why
                reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                if exporter == "legacy":
                    raise ExportError(f"torch.onnx.export(dynamo=False) failed for {spec.model}: {reason}") from exc
                fallback_reason = reason
                report(f"WARNING: the TorchScript exporter (dynamo=False) failed for {spec.model}: {reason}; "
                       "falling back to torch.export (dynamo=True), which can take minutes for large models")
        try:
            return strip_source_info(_export_dynamo(wrapped, x, opset, dynamic_batch)), "dynamo", fallback_reason
        except Exception as exc:
            raise ExportError(f"ONNX export of {spec.model} failed with torch.export (dynamo=True): "
                              f"{type(exc).__name__}: {exc}"
                              + (f" (the TorchScript exporter failed first: {fallback_reason})" if fallback_reason else "")) from exc


def export_checkpoint(checkpoint: str | os.PathLike, output: str | os.PathLike | None = None, *,
                      opset: int = DEFAULT_OPSET, fp16: bool = False, dynamic_batch: bool = True,
                      exporter: str = "auto", tolerance: float | None = None,
                      report: Callable[[str], None] = print) -> ExportResult:
    """Export one checkpoint; the file appears only if it passed onnx.checker and the ORT-vs-PyTorch check."""
    started = time.perf_counter()
    checkpoint = Path(checkpoint)
    output = Path(output) if output is not None else default_output_path(checkpoint, fp16)
    check_writable(output)                              # cheap checks first (OSError), before any heavy work
    ckpt = load_checkpoint(checkpoint)                  # CheckpointError: missing / corrupt / not ours
    model = model_from_checkpoint(ckpt, checkpoint)
    spec = ckpt.spec
    precision = "fp16" if fp16 else "fp32"
    report(f"exporting {checkpoint} ({spec.model} {spec.variant}, {spec.num_frames}x{spec.image_size[0]}x"
           f"{spec.image_size[1]} {spec.feature}, {precision}, opset {opset})")
    proto, used, fallback_reason = to_onnx(model, spec, opset=opset, fp16=fp16, dynamic_batch=dynamic_batch,
                                           exporter=exporter, report=report)
    write_metadata(proto, spec, precision=precision, exporter=used)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:
        raise ExportError(f"onnx.checker rejected the exported {spec.model}: {exc}") from exc
    with atomic_path(output) as tmp:
        onnx.save_model(proto, str(tmp))
        verification = verify_export(tmp, model, spec, fp16=fp16, dynamic_batch=dynamic_batch, tolerance=tolerance)
        report(verification.summary())
        if not verification.passed:  # raising here makes atomic_path delete the temporary file
            raise ExportError(f"{checkpoint}: ONNX Runtime disagrees with PyTorch: {verification.failure}; "
                              f"no file written to {output}")
    return ExportResult(checkpoint=checkpoint, output=output, spec=spec, exporter=used,
                        fallback_reason=fallback_reason, precision=precision, dynamic_batch=dynamic_batch,
                        verification=verification, seconds=time.perf_counter() - started,
                        size_bytes=output.stat().st_size)
