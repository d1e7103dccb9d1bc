"""Run an exported mer-live ONNX model with ONNX Runtime on the best provider that actually works.

Providers are tried in the order TensorRT, CUDA, CPU. A GPU provider is only asked for when a CUDA
GPU is really there (checked through the driver, libcuda, first): asking onnxruntime-gpu for CUDA
on a machine without one prints a wall of red errors. Such a machine gets one notice and the CPU
provider. Everything the caller needs to build the input (classes, frames, size, features) comes
from the file's own metadata.
"""
from __future__ import annotations

import ctypes
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from mer_live.suggest import unknown_choice
from mer_live.onnx_metadata import (MetadataError, ModelFileError, check_graph, load_model_proto,  # noqa: F401
                                    output_name, read_metadata, spec_from_props)
from mer_live.spec import ModelSpec

log = logging.getLogger(__name__)

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
PROVIDER_NAMES = {"tensorrt": TENSORRT, "cuda": CUDA, "cpu": CPU}
PROVIDER_CHOICES = ("auto", *PROVIDER_NAMES)   # what `provider=` accepts (auto: the best that works here)
AUTO_ORDER = (TENSORRT, CUDA, CPU)
ORT_LOG_ERRORS_ONLY = 3  # ORT severities: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal

_notices_given: set[str] = set()


class ProviderError(RuntimeError):
    """The ONNX Runtime provider asked for cannot run here (no GPU, libraries missing); the message says why."""


def _notice_once(message: str) -> None:
    """One line per distinct notice per process: a live app creates many sessions, not many warnings."""
    if message not in _notices_given:
        _notices_given.add(message)
        log.warning(message)


@lru_cache(maxsize=1)
def cuda_device_count() -> int:
    """CUDA GPUs the driver sees (0 without driver or GPU); asks libcuda directly, not onnxruntime."""
    try:
        libcuda = ctypes.CDLL("libcuda.so.1" if os.name != "nt" else "nvcuda.dll")
    except OSError:
        return 0
    try:
        if libcuda.cuInit(0) != 0:
            return 0
        count = ctypes.c_int(0)
        if libcuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return 0
        return int(count.value)
    except (AttributeError, OSError):
        return 0


@lru_cache(maxsize=1)
def tensorrt_loadable() -> bool:
    """Whether TensorRT's runtime library (needed by ORT's TensorRT provider) can be loaded."""
    for name in ("libnvinfer.so.10", "libnvinfer.so") if os.name != "nt" else ("nvinfer_10.dll", "nvinfer.dll"):
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    try:  # the `tensorrt` pip wheels keep their libraries in a package folder
        import tensorrt_libs  # type: ignore[import-not-found]  # noqa: F401

        return True
    except ImportError:
        return False


def choose_providers(
    request: str | None,
    available: Sequence[str],
    gpu_count: int,
    tensorrt_ok: bool,
) -> tuple[list[str], str | None]:
    """Providers to ask ONNX Runtime for, best first, and a notice for the user (or None).

    `request` None/"auto" walks AUTO_ORDER, keeping what is installed AND usable here; a named
    provider is used alone (plus CPU for ops it lacks) or refused with the reason, never swapped
    for another silently.
    """
    request = (request or "auto").lower()
    if request not in PROVIDER_CHOICES:
        raise ValueError(unknown_choice("provider", request, PROVIDER_CHOICES))
    usable = {
        TENSORRT: TENSORRT in available and gpu_count > 0 and tensorrt_ok,
        CUDA: CUDA in available and gpu_count > 0,
        CPU: CPU in available,
    }
    if request != "auto":
        wanted = PROVIDER_NAMES[request]
        if not usable[wanted]:
            raise ProviderError(f"ONNX Runtime provider {request!r} cannot run here: {_why_unusable(wanted, available, gpu_count, tensorrt_ok)}")
        return ([wanted] if wanted == CPU else [wanted, CPU]), None
    chosen = [p for p in AUTO_ORDER if usable[p]]
    if not chosen:
        raise ProviderError(f"ONNX Runtime offers no usable provider (installed: {list(available)})")
    notice = None
    if CUDA not in chosen:
        notice = f"{_why_unusable(CUDA, available, gpu_count, tensorrt_ok)}: running on ONNX Runtime's CPU provider"
    return chosen, notice


def _why_unusable(provider: str, available: Sequence[str], gpu_count: int, tensorrt_ok: bool) -> str:
    if provider not in available:
        package = "onnxruntime-gpu" if provider != CPU else "onnxruntime"
        return f"{provider} is not in this onnxruntime build (install {package})"
    if provider in (CUDA, TENSORRT) and gpu_count == 0:
        return "no CUDA GPU found (no NVIDIA driver or device)"
    if provider == TENSORRT and not tensorrt_ok:
        return "TensorRT libraries (libnvinfer) are not installed"
    return f"{provider} is unusable"


class OnnxClassifier:
    """An exported mer-live model: `.predict(clips) -> class probabilities`, `.spec` for its input."""

    def __init__(self, path: str | os.PathLike, provider: str | None = None, *, warmup: bool = True,
                 intra_op_threads: int = 0, batch_size: int | None = None):
        """`batch_size` fixes a dynamic batch axis when the session is built (the live engine sends one
        window at a time): ONNX Runtime can then fold the shape arithmetic, which speeds Swin up
        (`benchmarks/bench_onnx.py` prints both sessions).

        Raises:
            FileNotFoundError: no file at `path`.
            ValueError: `provider` is not auto, tensorrt, cuda or cpu.
            RuntimeError: the named provider cannot run here (the reason is given), ONNX Runtime cannot
                load the file, or it fell back from a provider that was named.
            MetadataError: the file lacks mer-live's metadata, holds a broken or out-of-bounds spec, has
                metadata that does not fit its graph (frames, channels, size, rank, class count), or was
                written by a newer mer-live (the message names its version and says to upgrade).
        """
        import onnxruntime as ort

        self.path = Path(path)
        proto = load_model_proto(self.path)      # not ONNX, or no mer-live metadata: clear, before any session
        spec = spec_from_props({p.key: p.value for p in proto.metadata_props}, source=str(self.path))
        check_graph(proto, spec, source=str(self.path))   # metadata that does not fit the graph: refused here
        batch_dim = proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param or None  # None: fixed batch
        del proto
        ort.set_default_logger_severity(ORT_LOG_ERRORS_ONLY)
        providers, notice = choose_providers(provider, ort.get_available_providers(), cuda_device_count(),
                                             tensorrt_loadable())
        if notice:
            _notice_once(notice)
        if providers[0] != CPU and hasattr(ort, "preload_dlls"):
            try:  # CUDA/cuDNN from the nvidia-* wheels (installed with torch) instead of system-wide copies
                ort.preload_dlls()
            except Exception as exc:  # noqa: BLE001 - a failed preload only matters if the session then fails
                _notice_once(f"onnxruntime.preload_dlls() failed ({exc}); relying on system CUDA libraries")
        options = ort.SessionOptions()
        options.log_severity_level = ORT_LOG_ERRORS_ONLY
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if intra_op_threads:
            options.intra_op_num_threads = int(intra_op_threads)
        # ORT's idle threads spin by default; the engine's capture, detection and spotting share the cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if batch_size is not None and batch_dim:
            options.add_free_dimension_override_by_name(batch_dim, int(batch_size))
        self.batch_size = batch_size
        provider_options = [self._provider_options(p) for p in providers]
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=options, providers=providers,
                                                provider_options=provider_options)
        except Exception as exc:  # the file parsed as ONNX with our metadata, but its graph does not load
            raise ModelFileError(f"ONNX Runtime cannot load {self.path} with {providers}: {exc}; export it again "
                                 "with this mer-live's mer-export") from exc
        running = self.session.get_providers()
        if running[0] != providers[0]:  # ORT fell back (e.g. CUDA libraries missing): say so, never silently
            if provider not in (None, "auto"):
                raise ProviderError(f"ONNX Runtime could not start {providers[0]} for {self.path} "
                                   f"(it fell back to {running[0]}); check the CUDA/cuDNN/TensorRT installation")
            _notice_once(f"ONNX Runtime could not start {providers[0]}; running on {running[0]}")
        self.provider: str = running[0]
        self.spec: ModelSpec = spec
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        self.input_dtype = np.float16 if model_input.type == "tensor(float16)" else np.float32
        batch_axis, *clip_axes = model_input.shape
        self._clip_shape = tuple(int(v) for v in clip_axes)
        # read once here, not per predict(): a batch fixed in the file, else the one fixed at load (or None)
        self._fixed_batch = batch_axis if isinstance(batch_axis, int) else batch_size
        self._output = output_name([o.name for o in self.session.get_outputs()])
        self._output_is_probs = self._output == "probs"
        if warmup:
            self.warmup()

    def _provider_options(self, provider: str) -> dict:
        if provider == TENSORRT:  # engines take minutes to build: keep them between runs
            cache = Path(os.environ.get("MER_LIVE_TRT_CACHE", Path.home() / ".cache" / "mer-live" / "tensorrt"))
            cache.mkdir(parents=True, exist_ok=True)
            # no trt_fp16_enable: an fp32 model stays fp32 (export with --fp16 for half precision)
            return {"trt_engine_cache_enable": "True", "trt_engine_cache_path": str(cache)}
        return {}

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """(T, C, H, W) of one clip, from the model's input."""
        return self._clip_shape

    @property
    def fixed_batch(self) -> int | None:
        """The batch size every `predict` call must have (fixed in the file or at load), or None: any."""
        return self._fixed_batch

    def warmup(self, repeats: int = 1) -> None:
        """First runs allocate memory and (GPU) pick kernels; do it before the first real clip."""
        x = np.zeros((self._fixed_batch or 1, *self.input_shape), dtype=np.float32)
        for _ in range(repeats):
            self.predict(x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (B, K) float32 for clips x (B, T, C, H, W) float32."""
        x = np.asarray(x)
        if x.ndim == 4:
            raise ValueError(f"expected a batch of clips (B, T, C, H, W), got {x.shape}; add a batch axis: x[None]")
        expected = self.input_shape
        if x.ndim != 5 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"expected clips of shape (B, {', '.join(map(str, expected))}) = (B, T, C, H, W) "
                             f"for {self.spec.model} ({self.spec.feature}), got {tuple(x.shape)}")
        batch_dim = self._fixed_batch
        if batch_dim is not None and x.shape[0] != batch_dim:
            raise ValueError(f"{self.path.name} runs here with a fixed batch of {batch_dim}, got {x.shape[0]} clips; "
                             "give one batch at a time, or load it without batch_size and export it without "
                             "--static-batch")
        out = self.session.run([self._output], {self.input_name: x.astype(self.input_dtype, copy=False)})[0]
        out = out.astype(np.float32, copy=False)
        if out.shape != (x.shape[0], self.spec.num_classes):   # a class axis not fixed in the graph (warm-up)
            raise MetadataError(f"{self.path}: the graph gave class scores of shape {out.shape} for {x.shape[0]} "
                                f"clip(s), but its metadata names {self.spec.num_classes} classes; export the "
                                "model again with `mer-export CHECKPOINT`")
        if self._output_is_probs:
            return out
        return softmax(out)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
