"""Offline speed of `mer-live --headless` over a video file: mer-live's first engine beside this one, in one run.

    python benchmarks/bench_offline.py [--video FILE] [--model M.onnx] [--provider cpu]
    taskset -c 0,1 python benchmarks/bench_offline.py      # hold a bigger machine to two CPU cores

Rows, each over the same file with the same model (loaded, and MTCNN warmed up, before timing):
- decode: reading the frames only (what no engine can beat);
- first engine: `EngineConfig.legacy()`, mer-live's first spotter (every stride window classified one at a
  time, its flow scored), MTCNN on every 5th frame at full size with torch's default threads;
- this engine, window rows: what `--headless --out` does (the region spotter on every frame, MTCNN when
  needed, stride windows classified in batches of 8, events classified on their own clip);
- this engine, events only: what `--headless` without `--out` does (no stride windows).
Each row: wall time, x real time, events found, and the per-stage median/p95 milliseconds. Goal: >= 5x real
time on 2 CPU cores with the nano model (the demo model is one). Timings on a busy machine are noisy.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mer_live.runtime import PROVIDER_CHOICES  # noqa: E402
from mer_live.streaming import demo  # noqa: E402
from mer_live.streaming.engine import Engine, EngineConfig  # noqa: E402
from mer_live.streaming.sources import VideoFileSource  # noqa: E402
from mer_live.streaming.timings import format_stages  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VIDEO = ROOT / "tests" / "data" / "real" / "WolfgangLanger_Pexels.mp4"


def decode_only(path: Path) -> tuple[float, int, float]:
    source = VideoFileSource(path)
    started = time.perf_counter()
    with source:
        frames = sum(1 for _ in source)
    return time.perf_counter() - started, frames, source.fps


def run_engine(path: Path, classifier, config: EngineConfig, default_threads: int):
    """(wall seconds, engine, events). MTCNN is loaded as the configuration asks (its threads, smallest face)
    and warmed up before the clock starts."""
    import torch

    from mer_live.streaming.detection import load_detector

    torch.set_num_threads(default_threads)
    detector = load_detector(config.detection)
    detector.detect(np.zeros((160, 160, 3), np.uint8))
    engine = Engine(VideoFileSource(path), classifier, config, detector=detector)
    started = time.perf_counter()
    events = engine.run()
    return time.perf_counter() - started, engine, events


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default: the demo model, nano)")
    parser.add_argument("--provider", default="cpu", choices=PROVIDER_CHOICES)
    args = parser.parse_args(argv)

    import torch

    from mer_live.runtime import OnnxClassifier

    default_threads = torch.get_num_threads()
    model = args.model or demo.demo_model_path()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    one = OnnxClassifier(model, provider=args.provider, batch_size=1)
    batched = OnnxClassifier(model, provider=args.provider, batch_size=EngineConfig().batch)
    spec = one.spec
    decode_s, frames, fps = decode_only(args.video)
    video_s = frames / fps
    print(f"{args.video.name}: {frames} frames, {video_s:.1f} s at {fps:.2f} fps; model {model.name} ({spec.model} "
          f"{spec.variant}, {spec.num_frames}x{spec.image_size[0]}px) on {one.provider}; {cores} CPU cores")
    rows = [("decode only", decode_s, None, None)]
    runs = [("first engine (legacy)", one, EngineConfig.legacy()),
            ("this engine, window rows", batched, EngineConfig()),
            ("this engine, events only", batched, EngineConfig(classify_windows=False))]
    for name, classifier, config in runs:
        wall, engine, events = run_engine(args.video, classifier, config, default_threads)
        rows.append((name, wall, engine, events))
    print(f"{'':28s} {'wall s':>7s} {'x real time':>11s} {'windows':>8s} {'detections':>10s} {'micro':>6s} "
          f"{'macro':>6s}")
    for name, wall, engine, events in rows:
        if engine is None:
            print(f"{name:28s} {wall:7.2f} {video_s / wall:11.1f}")
            continue
        stats = engine.stats()
        micro = sum(e.kind == "micro" for e in events)
        print(f"{name:28s} {wall:7.2f} {video_s / wall:11.1f} {stats.windows:8d} {stats.extra['detections']:10d} "
              f"{micro:6d} {len(events) - micro:6d}")
    for name, wall, engine, _ in rows[1:]:
        print(f"  {name}: {format_stages(engine.stats().stages)}")
    legacy_wall = rows[1][1]
    print(f"speed-up over the first engine: window rows {legacy_wall / rows[2][1]:.1f}x, events only "
          f"{legacy_wall / rows[3][1]:.1f}x; goal >= 5x real time: window rows "
          f"{'MET' if video_s / rows[2][1] >= 5 else 'MISSED'}, events only "
          f"{'MET' if video_s / rows[3][1] >= 5 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
