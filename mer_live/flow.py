"""Optical flow between consecutive frames: Farneback with the original code's parameters, computed by OpenCV
or by mer_live.torch_flow (the same flow within its stated tolerance; batched, and on the GPU where there is one).
"""
from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

FARNEBACK_PARAMS = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)

FLOW_CHOICES = ("auto", "opencv", "torch")  # --flow: auto is torch on a CUDA GPU, else OpenCV
FLOW_BACKENDS = ("opencv", "torch")         # what a model's spec records as the flow it was trained on


@dataclass(frozen=True)
class FlowBackend:
    """Which Farneback computes the flow: OpenCV's (CPU), or mer_live.torch_flow on a torch `device`."""

    name: str = "opencv"    # one of FLOW_BACKENDS
    device: str = "cpu"     # torch only: "cpu" or "cuda[:k]"

    def __str__(self) -> str:
        return self.name if self.name == "opencv" else f"torch on {self.device}"


OPENCV = FlowBackend()


def torch_cuda_usable() -> bool:
    """Whether PyTorch can run on a CUDA GPU here."""
    import torch

    return bool(torch.cuda.is_available())


def choose_flow_backend(choice: str = "auto") -> FlowBackend:
    """--flow's backend. auto: torch on the GPU when PyTorch sees one, else OpenCV (on the CPU OpenCV is the
    quicker, `benchmarks/bench_flow.py`); torch: on the GPU when there is one, else the CPU; opencv: OpenCV."""
    if choice not in FLOW_CHOICES:
        raise ValueError(f"flow backend {choice!r} is unknown; choose one of {', '.join(FLOW_CHOICES)}")
    if choice == "opencv":
        return OPENCV
    cuda = torch_cuda_usable()
    if choice == "auto" and not cuda:
        return OPENCV
    return FlowBackend("torch", "cuda" if cuda else "cpu")


def farneback(prev_gray: np.ndarray, next_gray: np.ndarray) -> np.ndarray:
    """Flow from one gray uint8 frame to the next as float32 (H, W, 3): magnitude, dx, dy in pixels."""
    if prev_gray.ndim != 2 or next_gray.ndim != 2:
        raise ValueError(f"flow needs 2-D gray frames, got shapes {prev_gray.shape} and {next_gray.shape}")
    uv = cv2.calcOpticalFlowFarneback(prev_gray, next_gray, None, **FARNEBACK_PARAMS)
    dx, dy = uv[..., 0], uv[..., 1]
    return np.stack([np.sqrt(dx * dx + dy * dy), dx, dy], axis=-1).astype(np.float32)


def to_gray(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) RGB uint8 -> (T, H, W) gray uint8 (OpenCV's weights), C-contiguous; gray input passes through."""
    frames = np.ascontiguousarray(frames)
    if frames.ndim == 3:
        return frames
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected (T, H, W, 3) RGB frames, got shape {frames.shape}")
    return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])


# Below this many pixels a frame's flow is so quick that handing it to a thread costs more than it saves.
THREADED_FLOW_MIN_PIXELS = 112 * 112


def live_flow_threads() -> int:
    """Threads for a live window's flow (one per core, at most 8): for the paper's 16 frames at 224 px the flow
    is most of a window's work (`benchmarks/bench_live.py` prints one thread against these)."""
    return max(1, min(8, os.cpu_count() or 1))


@functools.lru_cache(maxsize=None)
def _flow_pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="mer-flow")


def clip_flow(frames: np.ndarray, threads: int = 1, backend: FlowBackend = OPENCV) -> np.ndarray:
    """Flow of each consecutive pair: (T+1, H, W[, 3]) uint8 -> (T, H, W, 3) float32.

    OpenCV: `threads` > 1 shares the pairs among that many threads (OpenCV releases the GIL) for frames of at
    least THREADED_FLOW_MIN_PIXELS; the result is the same either way. torch: all pairs in one batch on the
    backend's device (`threads` is not used)."""
    gray = to_gray(frames)
    if len(gray) < 2:
        raise ValueError(f"flow needs at least 2 frames, got {len(gray)}")
    if backend.name == "torch":
        from mer_live.torch_flow import torch_clip_flow

        return torch_clip_flow(gray, backend.device, **FARNEBACK_PARAMS)
    if threads > 1 and len(gray) > 2 and gray[0].size >= THREADED_FLOW_MIN_PIXELS:
        return np.stack(list(_flow_pool(threads).map(farneback, gray[:-1], gray[1:])))
    return np.stack([farneback(gray[i], gray[i + 1]) for i in range(len(gray) - 1)])
