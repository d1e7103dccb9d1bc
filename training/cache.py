"""Prepared-clip cache: decode, resize, fix the length and compute flow ONCE per clip, reuse everywhere.

The original code recomputed Farneback flow for every clip in every epoch of every fold (16 folds x 100 epochs).
Here a clip's `PreparedClip` (frames + flow) is computed once and kept on disk (one .npz per clip, written
atomically), and its composed model input (T, C, H, W) is kept in memory, under a key of everything that
changes it: the frame files (path, size, mtime), image size, frame count, interpolation, whether flow is
taken, the flow parameters and backend (OpenCV or mer_live.torch_flow), and a hash of the code that makes it.
So folds, epochs and later runs reuse it, and any change to data, options or code misses the cache.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np

from mer_live import features, flow, frames as frames_module, interpolation, torch_flow
from mer_live.atomic import atomic_path
from mer_live.features import PreparedClip, compose_features, frames_needed, prepare_clip, uses_flow
from mer_live.flow import FARNEBACK_PARAMS, OPENCV, FlowBackend
from mer_live.frames import read_frames

CACHE_FORMAT = 1


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mer-live" / "clips"


def _code_version() -> str:
    """Hash of the modules whose output is cached: editing them invalidates the cache."""
    digest = hashlib.sha256(str(CACHE_FORMAT).encode())
    for module in (features, flow, frames_module, interpolation, torch_flow):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


CODE_VERSION = _code_version()


class ClipCache:
    """Per frame list: `features` (model input) from memory, else composed from `get` (the PreparedClip)
    from disk, else computed (and stored)."""

    def __init__(self, num_frames: int, image_size: tuple[int, int], interpolation_name: str, mode: str,
                 cache_dir: str | os.PathLike | None = None, memory_bytes: int = 4 << 30,
                 flow_backend: FlowBackend = OPENCV):
        self.num_frames = num_frames
        self.flow_backend = flow_backend
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.interpolation = interpolation_name
        self.mode = mode
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.memory_bytes = memory_bytes
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memory_used = 0
        self.hits_memory = self.hits_disk = self.misses = 0
        self._keys: dict[tuple, str] = {}
        self._settings = {
            "image_size": list(self.image_size),
            "length": frames_needed(mode, num_frames),
            "interpolation": interpolation_name,
            "flow": uses_flow(mode),
            "flow_params": FARNEBACK_PARAMS if uses_flow(mode) else None,
            "flow_backend": flow_backend.name if uses_flow(mode) else None,
            "code": CODE_VERSION,
        }

    def key(self, frame_paths: Sequence[Path]) -> str:
        """Hash of the settings and the frame files' identity; remembered per frame list for this process
        (the data is not expected to change during a run; a later run re-reads sizes and mtimes)."""
        paths = tuple(frame_paths)
        known = self._keys.get(paths)
        if known is None:
            known = self._keys[paths] = self._file_key(paths)
        return known

    def _file_key(self, frame_paths: Sequence[Path]) -> str:
        files = []
        for path in frame_paths:
            stat = os.stat(path)
            files.append([str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns])
        text = json.dumps({"settings": self._settings, "files": files}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def _disk_path(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / key[:2] / f"{key}.npz"

    def _remember(self, key: str, features: np.ndarray) -> None:
        if features.nbytes > self.memory_bytes:
            return
        self._memory[key] = features
        self._memory_used += features.nbytes
        while self._memory_used > self.memory_bytes:
            _, old = self._memory.popitem(last=False)
            self._memory_used -= old.nbytes

    def _load(self, path: Path) -> PreparedClip | None:
        try:
            with np.load(path) as data:
                clip_frames = data["frames"]
                clip_flow = data["flow"] if "flow" in data.files else None
        except Exception:  # a foreign or damaged cache file is recomputed and overwritten, never trusted
            return None
        return PreparedClip(frames=clip_frames, flow=clip_flow)

    def _store(self, path: Path, clip: PreparedClip) -> None:
        arrays = {"frames": clip.frames}
        if clip.flow is not None:
            arrays["flow"] = clip.flow
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)

    def get(self, frame_paths: Sequence[Path]) -> PreparedClip:
        """The clip's frames and flow: from disk, else computed from the frame files (and stored)."""
        key = self.key(frame_paths)
        path = self._disk_path(key)
        if path is not None and path.is_file():
            clip = self._load(path)
            if clip is not None:
                self.hits_disk += 1
                return clip
        self.misses += 1
        clip = prepare_clip(read_frames(frame_paths), self.num_frames, self.image_size, self.interpolation, self.mode,
                            flow_backend=self._flow_here())
        if path is not None:
            self._store(path, clip)
        return clip

    def _flow_here(self) -> FlowBackend:
        """The backend on this process's device: a data-loader worker (a forked process, where CUDA cannot
        start) computes torch flow on the CPU, the same flow within torch_flow's tolerance."""
        if self.flow_backend.device.startswith("cuda"):
            import torch.utils.data

            if torch.utils.data.get_worker_info() is not None:
                return FlowBackend(self.flow_backend.name, "cpu")
        return self.flow_backend

    def features(self, frame_paths: Sequence[Path]) -> np.ndarray:
        """(T, C, H, W) float32 un-augmented model input; shared, so callers must not modify it in place."""
        key = self.key(frame_paths)
        features = self._memory.get(key)
        if features is not None:
            self._memory.move_to_end(key)
            self.hits_memory += 1
            return features
        clip = self.get(frame_paths)
        features = compose_features(clip.frames, clip.flow, self.mode, self.num_frames)
        features.setflags(write=False)
        self._remember(key, features)
        return features

    def is_stored(self, frame_paths: Sequence[Path]) -> bool:
        key = self.key(frame_paths)
        path = self._disk_path(key)
        return key in self._memory or (path is not None and path.is_file())
