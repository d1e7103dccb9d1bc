"""How often could a live window reuse the previous window's flow? Issue 24: "no flow computed twice".

The live engine brings each window's crops to num_frames + 1 frames with the model's interpolation, then
computes the flow of each consecutive pair (mer_live.features.prepare_clip). A pair's flow can be reused only
when both of its frames are the previous window's: the same source frames with the same interpolation
weights. This script replays the engine's windowing (mer_live.streaming.window.WindowBuffer, a window when
the buffer is full and a stride has passed, as Engine._on_frame) on a stream at --fps and, for each
interpolation and stride, prints the share of a window's flow pairs that the previous window also had:

- by key: each interpolated frame as (source frame ids, weights), from mer_live.interpolation's positions:
  the pairs that are identical by construction, whatever the frames hold;
- by px: a stream of random-noise frames interpolated by mer_live.interpolation itself, pairs compared byte
  for byte. A check on the keys, and an upper bound: it also counts blends whose weights differ by a float
  rounding yet happen to give the same bytes, and TIM frames that meet a source frame to rounding.

    python benchmarks/bench_flow_reuse.py [--fps 30] [--seconds 10] [--clip-seconds S] [--stride-frames 1 2 4]

Specs: the demo model's (mer_live/assets/demo_model.onnx) and the paper's (16 frames; clip_seconds from the
spec, mer_live.spec.ModelSpec's default). --clip-seconds overrides both, e.g. to see a window of exactly
num_frames + 1 crops, which every interpolation passes through unchanged.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mer_live.features import frames_needed  # noqa: E402
from mer_live.interpolation import INTERPOLATIONS, interpolate, linear_positions  # noqa: E402
from mer_live.spec import ModelSpec  # noqa: E402
from mer_live.streaming.window import WindowBuffer  # noqa: E402

PIXEL_SIZE = 6          # random-noise frames of 6x6 px for the byte-for-byte check


def window_ids(fps: float, seconds: float, clip_seconds: float, stride_s: float) -> list[np.ndarray]:
    """The source frame ids of each window the engine would classify, in order (as Engine._on_frame)."""
    buffer = WindowBuffer(clip_seconds, (1, 1))
    crop = np.zeros((1, 1, 3), np.uint8)
    windows, next_t = [], None
    for index in range(int(round(seconds * fps))):
        t = index / fps                      # as a file or ArraySource stamps its frames
        buffer.push(t, crop)
        if not buffer.full() or (next_t is not None and t < next_t - 1e-6):
            continue
        next_t = t + stride_s
        window = buffer.snapshot(len(windows), 0.0, 0)
        first, last = int(round(window.t_start * fps)), int(round(window.t_end * fps))
        if last - first + 1 != len(window.frames):
            raise RuntimeError(f"window of {len(window.frames)} frames spans ids {first}..{last}")
        windows.append(np.arange(first, last + 1))
    return windows


def frame_keys(ids: np.ndarray, length: int, method: str) -> list[tuple]:
    """Each interpolated frame as what determines its pixels: ('src', id) for a source frame passed through
    (or a linear weight of exactly 0 or 1), ('mix', lower id, upper id, weight) for a linear blend, and
    ('tim', all ids, j) for a TIM frame (a blend of the whole window)."""
    n = len(ids)
    if n == length:
        return [("src", int(i)) for i in ids]
    if n == 1:
        return [("src", int(ids[0]))] * length
    if method == "tim":
        return [("tim", tuple(int(i) for i in ids), j) for j in range(length)]
    lo, hi, w = linear_positions(n, length)
    keys = []
    for a, b, weight in zip(lo, hi, w):
        if weight == 0 or a == b:
            keys.append(("src", int(ids[a])))
        elif weight == 1:
            keys.append(("src", int(ids[b])))
        else:
            keys.append(("mix", int(ids[a]), int(ids[b]), float(weight)))
    return keys


def shared_pairs(windows: list, pairs_of) -> tuple[float, int, int]:
    """Mean share of a window's pairs found among the previous window's, and the fewest / most shared."""
    shares, counts = [], []
    previous = None
    for window in windows:
        pairs = pairs_of(window)
        if previous is not None:
            count = sum(pair in previous for pair in pairs)
            shares.append(count / len(pairs))
            counts.append(count)
        previous = set(pairs)
    if not shares:
        return float("nan"), 0, 0
    return float(np.mean(shares)), min(counts), max(counts)


def measure(fps: float, seconds: float, clip_seconds: float, num_frames: int, stride_s: float, method: str,
            stream: np.ndarray) -> dict:
    length = frames_needed("GRAY_OF", num_frames)
    windows = window_ids(fps, seconds, clip_seconds, stride_s)

    def key_pairs(ids):
        keys = frame_keys(ids, length, method)
        return list(zip(keys[:-1], keys[1:]))

    def pixel_pairs(ids):
        clip = interpolate(stream[ids], length, method)
        return [clip[j].tobytes() + clip[j + 1].tobytes() for j in range(length - 1)]

    by_key, fewest, most = shared_pairs(windows, key_pairs)
    by_pixels, _, _ = shared_pairs(windows, pixel_pairs)
    sizes = sorted({len(ids) for ids in windows})
    return dict(windows=len(windows), sizes=sizes, pairs=length - 1, by_key=by_key, by_pixels=by_pixels,
                fewest=fewest, most=most)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fps", type=float, default=30.0, help="stream (camera) frame rate")
    p.add_argument("--seconds", type=float, default=10.0, help="stream length replayed")
    p.add_argument("--clip-seconds", type=float, default=None, help="window length for both specs (default: each spec's)")
    p.add_argument("--stride-frames", type=int, nargs="+", default=[1, 2, 4],
                   help="strides in stream frames (the 0.066 s stride is always added)")
    args = p.parse_args(argv)
    if args.fps <= 0 or args.seconds <= 0 or (args.clip_seconds is not None and args.clip_seconds <= 0):
        p.error("--fps, --seconds and --clip-seconds must be > 0")
    if min(args.stride_frames) < 1:
        p.error("--stride-frames must be >= 1")

    from mer_live.onnx_metadata import read_metadata
    from mer_live.streaming.demo import demo_model_path

    demo = read_metadata(demo_model_path())
    paper = ModelSpec(model="paper", class_names=("a", "b", "c"), num_frames=16)
    specs = [("demo", demo.num_frames, demo.clip_seconds), ("paper", paper.num_frames, paper.clip_seconds)]
    strides = [(f"{k} frame{'s' if k > 1 else ''}", k / args.fps) for k in args.stride_frames] + [("0.066 s", 0.066)]
    stream = np.random.default_rng(0).integers(0, 256, (int(round(args.seconds * args.fps)), PIXEL_SIZE,
                                                        PIXEL_SIZE), dtype=np.uint8)

    print(f"Flow pairs a window shares with the previous window ({args.fps:g} fps stream, {args.seconds:g} s)")
    print(f"{'spec':<6} {'frames':>6} {'clip s':>6} {'crops':>6} {'interp':<7} {'stride':<9} {'windows':>7} "
          f"{'by key':>7} {'by px':>7} {'min-max pairs':>13}")
    for name, num_frames, clip_seconds in specs:
        clip_seconds = args.clip_seconds or clip_seconds
        for method in INTERPOLATIONS:
            for stride_name, stride_s in strides:
                r = measure(args.fps, args.seconds, clip_seconds, num_frames, stride_s, method, stream)
                crops = "/".join(str(s) for s in r["sizes"])
                print(f"{name:<6} {num_frames:>6} {clip_seconds:>6g} {crops:>6} {method:<7} {stride_name:<9} "
                      f"{r['windows']:>7} {r['by_key']:>7.1%} {r['by_pixels']:>7.1%} "
                      f"{str(r['fewest']) + '-' + str(r['most']) + ' of ' + str(r['pairs']):>13}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
