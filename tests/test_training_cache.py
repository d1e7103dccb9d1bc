"""The prepared-clip cache: computed once, reused from memory and disk, missed when anything changes."""
from __future__ import annotations

import os
import shutil
from collections import Counter

import numpy as np

from mer_live.datasets import load_dataset
from mer_live.features import compose_features, prepare_clip
from mer_live.frames import read_frames
from training.cache import ClipCache
from training.data import epoch_plan


def smic_clip(synth_root):
    return load_dataset(synth_root, "SMIC").clips[0]


def test_cached_clip_equals_direct_preparation_and_is_reused(synth_root, tmp_path):
    clip = smic_clip(synth_root)
    cache = ClipCache(4, (32, 32), "linear", "GRAY_OF", tmp_path)
    first = cache.get(clip.frames)
    direct = prepare_clip(read_frames(clip.frames), 4, (32, 32), "linear", "GRAY_OF")
    np.testing.assert_array_equal(first.frames, direct.frames)
    np.testing.assert_array_equal(first.flow, direct.flow)
    expected = compose_features(direct.frames, direct.flow, "GRAY_OF", 4)
    np.testing.assert_array_equal(cache.features(clip.frames), expected)
    np.testing.assert_array_equal(cache.features(clip.frames), expected)
    assert (cache.misses, cache.hits_disk, cache.hits_memory) == (1, 1, 1)
    assert len(list(tmp_path.rglob("*.npz"))) == 1 and not list(tmp_path.rglob("*.tmp"))

    later_run = ClipCache(4, (32, 32), "linear", "GRAY_OF", tmp_path)  # a new process: from disk
    np.testing.assert_array_equal(later_run.features(clip.frames), expected)
    assert (later_run.misses, later_run.hits_disk) == (0, 1)


def test_anything_that_changes_the_clip_misses_the_cache(synth_root, tmp_path):
    clip = smic_clip(synth_root)
    base = ClipCache(4, (32, 32), "linear", "GRAY_OF", tmp_path)
    key = base.key(clip.frames)
    for other in (ClipCache(4, (24, 24), "linear", "GRAY_OF", tmp_path), ClipCache(5, (32, 32), "linear", "GRAY_OF", tmp_path),
                  ClipCache(4, (32, 32), "tim", "GRAY_OF", tmp_path), ClipCache(4, (32, 32), "linear", "RGB", tmp_path)):
        assert other.key(clip.frames) != key
    # GRAY_OF and RGB_OF need the same frames and flow: one cache entry serves both
    assert ClipCache(4, (32, 32), "linear", "RGB_OF", tmp_path).key(clip.frames) == key

    copy = tmp_path / "clip"
    copy.mkdir()
    frames = [shutil.copy2(f, copy / f.name) for f in clip.frames]
    copied_key = base.key(frames)
    stat = os.stat(frames[0])
    os.utime(frames[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # an edited frame
    assert ClipCache(4, (32, 32), "linear", "GRAY_OF", tmp_path).key(frames) != copied_key  # the next run


def test_damaged_cache_file_is_recomputed_not_trusted(synth_root, tmp_path):
    clip = smic_clip(synth_root)
    ClipCache(4, (32, 32), "linear", "GRAY_OF", tmp_path).get(clip.frames)
    (path,) = tmp_path.rglob("*.npz")
    path.write_bytes(b"not an npz")
    cache = ClipCache(4, (32, 32), "linear", "GRAY_OF", tmp_path)
    assert cache.get(clip.frames).flow.shape == (4, 32, 32, 3) and cache.misses == 1


def test_epoch_plans_are_reproducible_and_the_imbalanced_sampler_balances_classes():
    labels = [0] * 80 + [1] * 15 + [2] * 5
    plan = epoch_plan(labels, seed=3, fold_tag=7, epoch=2, imbalanced=True)
    assert plan == epoch_plan(labels, seed=3, fold_tag=7, epoch=2, imbalanced=True)
    assert plan != epoch_plan(labels, seed=3, fold_tag=7, epoch=3, imbalanced=True)
    assert len(plan) == len(labels)
    drawn = Counter()
    for epoch in range(50):
        drawn.update(labels[i] for i, _ in epoch_plan(labels, 3, 7, epoch, True))
    shares = np.array([drawn[k] for k in range(3)]) / sum(drawn.values())
    assert np.all(np.abs(shares - 1 / 3) < 0.04), shares
    plain = epoch_plan(labels, 3, 7, 0, False)
    assert sorted(i for i, _ in plain) == list(range(len(labels)))  # a shuffle: every clip once
