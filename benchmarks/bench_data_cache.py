"""Data time per training epoch: the cached path (mer-train) vs recomputing flow every epoch (the original code).

Original path (what the original code did), per clip per epoch: read the frame files, resize, bring to fixed
length, augment the frames, compute Farneback flow, compose the features. Cached path (training.data.ClipDataset): the clip's composed
features from the in-memory cache, augmentation applied to flow and appearance together in one pass. The one-time cost of
filling the cache is printed too. Both are measured in this run, side by side, on the same clips.

    python benchmarks/bench_data_cache.py [--subjects 4] [--image-size 224] [--num-frames 16] [--epochs 3]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from mer_live.datasets import load_dataset
from mer_live.features import compose_features, frames_needed, resize_clip
from mer_live.flow import clip_flow
from mer_live.frames import read_frames
from mer_live.interpolation import interpolate
from mer_live.synthetic.layouts import make_dataset
from training.augment import augment_frames, draw_params
from training.cache import ClipCache
from training.data import ClipDataset, epoch_plan


def original_epoch(clips, plan, size, num_frames, mode) -> float:
    start = time.perf_counter()
    for clip_index, aug_seed in plan:
        frames = resize_clip(read_frames(clips[clip_index].frames), size)
        frames = interpolate(frames, frames_needed(mode, num_frames), "linear")
        frames = augment_frames(frames, draw_params(np.random.default_rng(aug_seed)))
        compose_features(frames, clip_flow(frames), mode, num_frames)
    return time.perf_counter() - start


def cached_epoch(dataset: ClipDataset, plan) -> float:
    dataset.set_plan(plan)
    start = time.perf_counter()
    for position in range(len(dataset)):
        dataset[position]
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--subjects", type=int, default=4)
    p.add_argument("--clips-per-class", type=int, default=2)
    p.add_argument("--source-size", type=int, default=160, help="side of the synthetic face crops on disk")
    p.add_argument("--image-size", type=int, default=224, help="the original code's default")
    p.add_argument("--num-frames", type=int, default=16)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--feature", default="GRAY_OF")
    args = p.parse_args()
    size = (args.image_size, args.image_size)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        make_dataset(root, "SMIC", subjects=args.subjects, clips_per_class=args.clips_per_class,
                     image_size=args.source_size, frames_range=(20, 40))
        clips = load_dataset(root, "SMIC").clips
        labels = [c.label for c in clips]
        cache = ClipCache(args.num_frames, size, "linear", args.feature, Path(tmp) / "cache")
        dataset = ClipDataset([c.frames for c in clips], labels, cache, args.feature, args.num_frames, augment=True)
        print(f"{len(clips)} synthetic SMIC clips of {args.source_size}px, 20-40 frames -> {args.num_frames} "
              f"frames of {args.image_size}px, {args.feature}")
        start = time.perf_counter()
        for clip in clips:
            cache.features(clip.frames)
        fill = time.perf_counter() - start
        original_times, cached_times = [], []
        for epoch in range(args.epochs):
            plan = epoch_plan(labels, 0, 0, epoch, imbalanced=True)
            original_times.append(original_epoch(clips, plan, size, args.num_frames, args.feature))
            cached_times.append(cached_epoch(dataset, plan))
        original_s, cached_s = float(np.median(original_times)), float(np.median(cached_times))
        cold = ClipCache(args.num_frames, size, "linear", args.feature, Path(tmp) / "cache")  # a later run
        start = time.perf_counter()
        for clip in clips:
            cold.features(clip.frames)
        from_disk = time.perf_counter() - start
    print(f"original path (flow recomputed every epoch): {original_s:.3f} s/epoch  (median of {args.epochs})")
    print(f"cached path (features cached, flow+appearance augmented in one pass): {cached_s:.3f} s/epoch")
    print(f"speed-up: {original_s / cached_s:.1f}x  (goal >= 10x)")
    print(f"one-time cache fill: {fill:.3f} s; a later run loads it from disk in {from_disk:.3f} s")


if __name__ == "__main__":
    main()
