"""Per-epoch clip plans and the Dataset that turns cached clips into augmented model input.

An epoch is a plan: which clips, in which order, and the augmentation seed of each draw. The plan is a
pure function of (run seed, fold, epoch), so a fold gives the same result whichever rank or worker runs it.
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from mer_live.features import compose_features, uses_flow
from mer_live.flow import clip_flow
from training.augment import augment_features, augment_frames, draw_params
from training.cache import ClipCache

# How an augmented clip gets its flow (--augment-order): "warp-flow" warps the cached flow with the frames
# (flow computed once per clip); "original" augments the cached frames and computes flow on them again, the
# original code's order (it augmented, interpolated, then took flow), at one flow computation per draw.
AUGMENT_ORDERS = ("warp-flow", "original")


def epoch_plan(labels: Sequence[int], seed: int, fold_tag: int, epoch: int,
               imbalanced: bool) -> list[tuple[int, int]]:
    """[(clip index, augmentation seed)] for one training epoch.

    Plain: a shuffle of every clip. Imbalanced (the original code's sampler): len(labels) draws with replacement,
    each clip weighted 1 / (count of its class).
    """
    rng = np.random.default_rng([seed, fold_tag, epoch])
    n = len(labels)
    if imbalanced:
        counts = Counter(labels)
        weights = np.array([1.0 / counts[label] for label in labels])
        order = rng.choice(n, size=n, replace=True, p=weights / weights.sum())
    else:
        order = rng.permutation(n)
    aug_seeds = rng.integers(0, 2**31 - 1, size=n)
    return [(int(i), int(s)) for i, s in zip(order, aug_seeds)]


class ClipDataset(Dataset):
    """Items of a plan as (features (T, C, H, W) float32, label); augmentation only when `augment`, its flow
    made as `augment_order` says (AUGMENT_ORDERS)."""

    def __init__(self, clip_frames: Sequence[Sequence], labels: Sequence[int], cache: ClipCache,
                 mode: str, num_frames: int, augment: bool, augment_order: str = "warp-flow"):
        if augment_order not in AUGMENT_ORDERS:
            raise ValueError(f"augment_order must be one of {AUGMENT_ORDERS}, got {augment_order!r}")
        self.clip_frames = list(clip_frames)
        self.labels = list(labels)
        self.cache = cache
        self.mode = mode
        self.num_frames = num_frames
        self.augment = augment
        self.recompute_flow = augment_order == "original" and uses_flow(mode)
        self._frames: dict[int, np.ndarray] = {}   # decoded frames per clip, for recomputing flow
        self.plan: list[tuple[int, int]] = [(i, 0) for i in range(len(self.labels))]

    def set_plan(self, plan: list[tuple[int, int]]) -> None:
        self.plan = plan

    def __len__(self) -> int:
        return len(self.plan)

    def features(self, clip_index: int, aug_seed: int | None) -> np.ndarray:
        """The clip's model input, augmented by the draw of `aug_seed` (None: not augmented); never the
        cache's own (read-only, shared) array."""
        cached = self.cache.features(self.clip_frames[clip_index])
        x = cached
        if aug_seed is not None:
            params = draw_params(np.random.default_rng(aug_seed))
            if self.recompute_flow and not params.is_identity:
                frames = augment_frames(self._decoded(clip_index), params)
                return compose_features(frames, clip_flow(frames, backend=self.cache.flow_backend), self.mode,
                                        self.num_frames)
            x = augment_features(cached, params, uses_flow(self.mode))
        return x.copy() if x is cached else x

    def _decoded(self, clip_index: int) -> np.ndarray:
        """The clip's cached frames (resized, at fixed length), kept for the dataset's life."""
        if clip_index not in self._frames:
            self._frames[clip_index] = self.cache.get(self.clip_frames[clip_index]).frames
        return self._frames[clip_index]

    def __getitem__(self, position: int) -> tuple[torch.Tensor, int, int]:
        clip_index, aug_seed = self.plan[position]
        x = self.features(clip_index, aug_seed if self.augment else None)
        return torch.from_numpy(x), self.labels[clip_index], clip_index
