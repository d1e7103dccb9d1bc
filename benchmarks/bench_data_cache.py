"""Data time per training epoch: the cached path (mer-train) vs recomputing flow every epoch (the original code).

Original path (what the original code did), per clip per epoch: read the frame files, resize, bring to fixed
length, augment the frames, compute Farneback flow, compose the features. Cached path (training.data.ClipDataset): the clip's composed
features from the in-memory cache, augmentation applied to flow and appearance together in one pass. The one-time cost of
filling the cache is printed too. Both are measured in this run, side by side, on the same clips, with a third:
`--augment-order original` (cached frames augmented, flow computed on them every epoch).

The two orders' flow is compared too, on every draw with rotation or scale: the warped cached flow against the
flow recomputed on the augmented frames, the mean |difference| of the (dx, dy) vectors over the mean recomputed
vector length, over the whole image and inside a border of a quarter of the side.

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


def flow_difference(clips, cache: ClipCache, plan, mode: str, num_frames: int) -> list[tuple[float, float, float]]:
    """Per draw with rotation or scale: (relative difference over the whole image, inside the border,
    correlation over the whole image) of the warped cached flow against the recomputed flow."""
    from training.augment import augment_flow

    rows = []
    for clip_index, aug_seed in plan:
        params = draw_params(np.random.default_rng(aug_seed))
        if params.angle_deg == 0.0 and params.scale == 1.0:
            continue
        prepared = cache.get(clips[clip_index].frames)
        warped = augment_flow(prepared.flow, params)[..., 1:3]
        recomputed = clip_flow(augment_frames(prepared.frames, params))[..., 1:3]
        b = recomputed.shape[1] // 4
        inner = (slice(None), slice(b, -b), slice(b, -b))
        rel = [float(np.abs(warped[r] - recomputed[r]).mean() / np.linalg.norm(recomputed[r], axis=-1).mean())
               for r in ((Ellipsis,), inner)]
        rows.append((rel[0], rel[1], float(np.corrcoef(warped.ravel(), recomputed.ravel())[0, 1])))
    return rows


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
        recompute = ClipDataset([c.frames for c in clips], labels, cache, args.feature, args.num_frames, augment=True,
                                augment_order="original")
        original_times, cached_times, recompute_times, differences = [], [], [], []
        for epoch in range(args.epochs):
            plan = epoch_plan(labels, 0, 0, epoch, imbalanced=True)
            original_times.append(original_epoch(clips, plan, size, args.num_frames, args.feature))
            cached_times.append(cached_epoch(dataset, plan))
            recompute_times.append(cached_epoch(recompute, plan))
            differences += flow_difference(clips, cache, plan, args.feature, args.num_frames)
        original_s, cached_s = float(np.median(original_times)), float(np.median(cached_times))
        cold = ClipCache(args.num_frames, size, "linear", args.feature, Path(tmp) / "cache")  # a later run
        start = time.perf_counter()
        for clip in clips:
            cold.features(clip.frames)
        from_disk = time.perf_counter() - start
    print(f"original path (flow recomputed every epoch): {original_s:.3f} s/epoch  (median of {args.epochs})")
    print(f"cached path (features cached, flow+appearance augmented in one pass): {cached_s:.3f} s/epoch")
    print(f"speed-up: {original_s / cached_s:.1f}x  (goal >= 10x)")
    print(f"--augment-order original (cached frames, flow recomputed on the augmented ones): "
          f"{float(np.median(recompute_times)):.3f} s/epoch")
    if differences:
        whole, inner, corr = (np.array(column) for column in zip(*differences))
        print(f"warped vs recomputed flow on {len(whole)} draws with rotation or scale: whole image "
              f"{whole.mean():.0%} mean (max {whole.max():.0%}), inside the border {inner.mean():.0%} mean "
              f"(max {inner.max():.0%}); correlation {corr.mean():.2f} mean (min {corr.min():.2f})")
    print(f"one-time cache fill: {fill:.3f} s; a later run loads it from disk in {from_disk:.3f} s")


if __name__ == "__main__":
    main()
