"""Does the exported file compute what the PyTorch model computes? ONNX Runtime (CPU) vs PyTorch, same inputs.

Two inputs: a random batch (of 2 when the batch axis is dynamic: with the batch of 1 below that proves
the axis really is dynamic) and the real features of a synthetic clip (mer_live.synthetic.render frames through
mer_live.features), which is what the live app feeds. The reference is always the float32 PyTorch
model, so an fp16 export is judged against the model it stands in for.

Tolerances: fp32 max |logits difference| <= 1e-4 (float rounding in a different kernel order stays
~1e-6..1e-5 here); fp16 max |probability difference| <= 2e-2 (half precision keeps ~3 significant
digits, so logits move by ~1e-3..1e-2 and probabilities by less).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from mer_live.runtime import ORT_LOG_ERRORS_ONLY, softmax
from mer_live.spec import ModelSpec

FP32_LOGITS_TOLERANCE = 1e-4
FP16_PROBS_TOLERANCE = 2e-2


@dataclass
class InputCheck:
    name: str
    batch: int
    max_abs_logits: float
    max_abs_probs: float
    top1_agree: int        # clips whose top-1 class matches PyTorch's


@dataclass
class VerificationReport:
    precision: str
    tolerance: float
    measure: str                        # "logits" (fp32) or "probs" (fp16): what the tolerance bounds
    checks: list[InputCheck] = field(default_factory=list)

    @property
    def max_abs_logits(self) -> float:
        return max(c.max_abs_logits for c in self.checks)

    @property
    def max_abs_probs(self) -> float:
        return max(c.max_abs_probs for c in self.checks)

    @property
    def top1_agreement(self) -> tuple[int, int]:
        return sum(c.top1_agree for c in self.checks), sum(c.batch for c in self.checks)

    @property
    def measured(self) -> float:
        return self.max_abs_logits if self.measure == "logits" else self.max_abs_probs

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.measured)) and self.measured <= self.tolerance

    @property
    def failure(self) -> str:
        return (f"max |Δ {self.measure}| = {self.measured:.3g} > tolerance {self.tolerance:g} ({self.precision})"
                if not self.passed else "")

    def summary(self) -> str:
        agree, total = self.top1_agreement
        lines = [f"verification ({self.precision}, ONNX Runtime CPU vs PyTorch fp32): "
                 f"max |Δ logits| {self.max_abs_logits:.2e}, max |Δ probs| {self.max_abs_probs:.2e}, "
                 f"top-1 agreement {agree}/{total}; tolerance |Δ {self.measure}| <= {self.tolerance:g}: "
                 + ("PASS" if self.passed else "FAIL")]
        for c in self.checks:
            lines.append(f"  {c.name:<16} batch {c.batch}: |Δ logits| {c.max_abs_logits:.2e}, "
                         f"|Δ probs| {c.max_abs_probs:.2e}, top-1 {c.top1_agree}/{c.batch}")
        return "\n".join(lines)


def synthetic_features(spec: ModelSpec, seed: int = 0) -> np.ndarray:
    """(1, T, C, H, W) float32: a synthetic micro-expression clip through the real feature pipeline."""
    from mer_live.features import spec_features
    from mer_live.synthetic.render import LABEL_MOTIONS, motion_for, synthetic_clip

    label = sorted(LABEL_MOTIONS)[0]  # class names without a synthetic motion (custom data) get a generic one
    for name in spec.class_names:
        try:
            motion_for(name, spec.dataset)
        except ValueError:
            continue
        label = name
        break
    # twice the model's frames, so the clip goes through the same temporal resampling as real input
    frames = synthetic_clip(label, num_frames=2 * spec.num_frames + 1, image_size=tuple(spec.image_size),
                            seed=seed, dataset=spec.dataset or None)
    return spec_features(np.asarray(frames), spec)[None]


def random_features(spec: ModelSpec, batch: int, seed: int = 0) -> np.ndarray:
    from mer_live.features import FEATURE_CHANNELS

    h, w = spec.image_size
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, spec.num_frames, FEATURE_CHANNELS[spec.feature], h, w), dtype=np.float32)


def verify_export(onnx_path: str | os.PathLike, model: nn.Module, spec: ModelSpec, *, fp16: bool = False,
                  dynamic_batch: bool = True, tolerance: float | None = None) -> VerificationReport:
    """Run the file with ONNX Runtime's CPU provider and the float32 model on the same clips."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = ORT_LOG_ERRORS_ONLY
    session = ort.InferenceSession(os.fspath(onnx_path), sess_options=options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    input_dtype = np.float16 if fp16 else np.float32
    report = VerificationReport(
        precision="fp16" if fp16 else "fp32",
        tolerance=tolerance if tolerance is not None else (FP16_PROBS_TOLERANCE if fp16 else FP32_LOGITS_TOLERANCE),
        measure="probs" if fp16 else "logits",
    )
    # With a dynamic axis, batches of 2 and 1 prove it is dynamic (the export's example batch was 2).
    inputs = [("random", random_features(spec, 2 if dynamic_batch else 1, seed=1)),
              ("synthetic clip", synthetic_features(spec))]
    for name, x in inputs:
        with torch.no_grad():
            ref_logits = model(torch.from_numpy(x)).float().numpy()
        ort_logits, ort_probs = session.run(["logits", "probs"], {input_name: x.astype(input_dtype)})
        ort_logits = ort_logits.astype(np.float32)
        ref_probs = softmax(ref_logits)
        report.checks.append(InputCheck(
            name=name,
            batch=len(x),
            max_abs_logits=float(np.abs(ort_logits - ref_logits).max()),
            max_abs_probs=float(np.abs(ort_probs - ref_probs).max()),
            top1_agree=int((ort_logits.argmax(-1) == ref_logits.argmax(-1)).sum()),
        ))
    return report
