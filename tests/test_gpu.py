"""The CUDA paths, run only where a CUDA GPU is (skipped on CPU-only machines such as CI).

- mer-train with -gpu 0 and --amp trains on the GPU and writes a checkpoint that exports on the CPU.
- OnnxClassifier on ONNX Runtime's CUDA provider gives the CPU provider's probabilities (to 1e-3).
- An fp16 export runs on the CUDA provider and stays within the exporter's fp16 tolerance of PyTorch fp32.
- mer_live.torch_flow on CUDA gives OpenCV's flow within its stated tolerance, and `auto` picks it there.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mer_live.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from mer_live.models import create_model
from mer_live.runtime import CPU, CUDA, OnnxClassifier, cuda_device_count
from mer_live.spec import ModelSpec

FP16_PROBS_TOLERANCE = 2e-2      # what mer-export's fp16 verification allows (export.verify)


def _onnxruntime_providers() -> list[str]:
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


def cuda_provider_skip_reason(devices: int, providers: list[str]) -> str | None:
    """Why the CUDA-provider tests cannot run here, naming the real cause (None: they can).

    Installing onnxruntime-gpu is advised only when it is missing: with it installed and no GPU,
    that advice sent people to reinstall what they had."""
    installed = CUDA in providers
    if devices and installed:
        return None
    if not devices:
        return "no CUDA device (no NVIDIA driver, or it sees no GPU)" + (
            "; onnxruntime-gpu is installed" if installed else "; onnxruntime-gpu is not installed either")
    return "onnxruntime has no CUDAExecutionProvider: install onnxruntime-gpu in place of onnxruntime"


needs_torch_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device (PyTorch sees no GPU)")
_CUDA_SKIP = cuda_provider_skip_reason(cuda_device_count(), _onnxruntime_providers())
needs_cuda_provider = pytest.mark.skipif(_CUDA_SKIP is not None, reason=_CUDA_SKIP or "")


def test_the_skip_reason_names_the_real_cause():
    with_gpu_wheel = [CUDA, CPU]
    assert cuda_provider_skip_reason(1, with_gpu_wheel) is None
    no_device = cuda_provider_skip_reason(0, with_gpu_wheel)
    assert no_device.startswith("no CUDA device") and "install onnxruntime-gpu" not in no_device
    assert "install onnxruntime-gpu" in cuda_provider_skip_reason(1, [CPU])
    assert cuda_provider_skip_reason(0, [CPU]).startswith("no CUDA device")


@needs_torch_cuda
def test_train_on_gpu_with_amp_writes_a_checkpoint_that_exports(synth_root, tmp_path, monkeypatch):
    from export.onnx_export import export_checkpoint
    from training import cli
    from training import fold as fold_module

    contexts = []                                       # what each training step ran under
    real_autocast = fold_module._autocast

    def recorded(options, device):
        contexts.append(real_autocast(options, device))
        return contexts[-1]

    monkeypatch.setattr(fold_module, "_autocast", recorded)
    out = tmp_path / "gpu_run"
    torch.cuda.reset_peak_memory_stats()
    rc = cli.main(["ch3_1_fusion_cnn_like", str(synth_root), "SMIC", "--variant", "nano", "-imgsize", "32",
                   "-num_frames", "4", "-bs", "3", "-ep", "1", "-lr", "1e-3", "--subjects", "s01",
                   "-gpu", "0", "--amp", "--no-progress", "--out", str(out), "--cache-dir", str(tmp_path / "cache")])
    assert rc == 0
    assert torch.cuda.max_memory_allocated() > 0        # the model really ran on the GPU
    assert contexts and all(isinstance(c, torch.autocast) and c.device == "cuda" and c.fast_dtype == torch.float16
                            for c in contexts)          # --amp: every step under float16 autocast
    fold = out / "folds" / "s01"
    probs = np.array(json.loads((fold / "predictions.json").read_text())["probs_last"], dtype=np.float64)
    assert probs.size and np.isfinite(probs).all()       # AMP's loss scaling kept the outputs finite
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-3)
    ckpt = load_checkpoint(fold / "model.pt")
    assert all(t.dtype == torch.float32 for t in ckpt.state_dict.values()
               if t.is_floating_point())                # AMP keeps float32 weights: the file runs anywhere
    result = export_checkpoint(fold / "model.pt", tmp_path / "gpu_run.onnx", report=lambda _: None)
    assert result.verification.passed


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpu_export")
    spec = ModelSpec(model="ch3_1_fusion_cnn_like", class_names=("negative", "positive", "surprise"), num_frames=4,
                     image_size=(32, 32), feature="GRAY_OF", variant="nano", dataset="SMIC")
    torch.manual_seed(0)
    net = create_model(spec.model, spec.num_classes, num_frames=spec.num_frames, image_size=spec.image_size,
                       variant=spec.variant).eval()
    save_checkpoint(folder / "model.pt", Checkpoint(spec, net.state_dict(), {}))
    return folder / "model.pt", net


def _clips(classifier: OnnxClassifier, n: int = 3) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, *classifier.input_shape)).astype(np.float32)


@needs_cuda_provider
def test_cuda_provider_gives_the_cpu_probabilities(checkpoint):
    from export.onnx_export import export_checkpoint

    path, _ = checkpoint
    onnx_path = export_checkpoint(path, report=lambda _: None).output
    on_gpu = OnnxClassifier(onnx_path, provider="cuda")
    assert on_gpu.provider == CUDA and on_gpu.session.get_providers()[0] == CUDA
    on_cpu = OnnxClassifier(onnx_path, provider="cpu")
    assert on_cpu.provider == CPU
    x = _clips(on_gpu)
    gpu_probs, cpu_probs = on_gpu.predict(x), on_cpu.predict(x)
    # CUDA kernels (TF32 matmuls on Ampere and later) round differently from the CPU's: close, not equal
    np.testing.assert_allclose(gpu_probs, cpu_probs, atol=1e-3)


@needs_cuda_provider
def test_fp16_export_runs_on_cuda_within_the_fp16_tolerance(checkpoint):
    from export.onnx_export import export_checkpoint

    path, net = checkpoint
    fp16 = export_checkpoint(path, fp16=True, report=lambda _: None)
    assert fp16.precision == "fp16" and fp16.verification.passed   # verified on the CPU by mer-export
    classifier = OnnxClassifier(fp16.output, provider="cuda")
    assert classifier.provider == CUDA and classifier.input_dtype == np.float16
    x = _clips(classifier)
    probs = classifier.predict(x)
    assert probs.dtype == np.float32 and np.isfinite(probs).all()
    with torch.no_grad():
        expected = torch.softmax(net(torch.from_numpy(x)), dim=-1).numpy()
    assert np.abs(probs - expected).max() <= FP16_PROBS_TOLERANCE


@needs_torch_cuda
def test_torch_flow_on_cuda_is_opencvs_within_the_tolerance():
    import cv2

    from mer_live.flow import FlowBackend, choose_flow_backend, clip_flow
    from mer_live.synthetic.render import MOTIONS, motion_field, random_look, render_frames, render_still
    from mer_live.torch_flow import EPE_MEAN_TOLERANCE, EPE_P95_TOLERANCE

    assert choose_flow_backend("auto") == FlowBackend("torch", "cuda")
    rng = np.random.default_rng(3)
    look = random_look(rng, (224, 224), raw=False)
    amplitude = np.sin(np.linspace(0, np.pi, 17)) * 2.0
    frames = render_frames(look, render_still(look), motion_field(look, MOTIONS["smile"]), amplitude, rng, 1.0)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (128, 160)).astype(np.uint8), (0, 0), 2.0)
    moved = cv2.warpAffine(texture, np.float32([[1, 0, 6.4], [0, 1, -3.3]]), (160, 128), borderMode=cv2.BORDER_REFLECT)
    for clip in (frames, np.stack([texture, moved])):
        ours, reference = clip_flow(clip, backend=FlowBackend("torch", "cuda")), clip_flow(clip)
        epe = np.hypot(ours[..., 1] - reference[..., 1], ours[..., 2] - reference[..., 2]).reshape(len(ours), -1)
        assert epe.mean(axis=1).max() <= EPE_MEAN_TOLERANCE
        assert np.percentile(epe, 95, axis=1).max() <= EPE_P95_TOLERANCE
