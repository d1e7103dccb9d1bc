"""Model zoo on this CPU: parameters, batch-1 forward time and peak memory per model and variant.

Each model runs in its own subprocess so that its peak resident memory (getrusage maxrss) is its own;
"model MB" is that peak minus the process's peak right after importing torch and mer_live (for the
tiny and nano rows it includes the onnxruntime session, timed side by side in the "ort" columns).
Base models run at the paper's input (16 frames, 224 px); the smaller variants at the live app's
input (8 frames, 112 px and 64 px). torch.inference_mode, 1 warm-up call, then the median of N calls.

    python benchmarks/bench_models.py            # everything (~3-5 min on 2 cores)
    python benchmarks/bench_models.py --only nano --threads 2   # compare thread counts
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

LIVE_CASE = ("ch3_1_fusion_cnn_like", "nano")  # the live app's default model (GRAY_OF)
LIVE_GOAL_PER_S = 5
ONNX_VARIANTS = ("tiny", "nano")  # also timed in onnxruntime (CPU provider), side by side with torch

# (model, variant, frames, pixels, repeats)
CASES = [
    ("ch3_swin", "base", 16, 224, 1),
    ("ch3_timesformer", "base", 16, 224, 1),
    ("ch3_resnext", "base", 16, 224, 1),
    ("ch3_1_fusion_cnn_like", "base", 16, 224, 1),
    ("ch3_1_fusion_transformer", "base", 16, 224, 1),
    ("ch3_1_fusion_cnn", "base", 16, 224, 1),
    ("ch3_swin", "small", 8, 112, 3),
    ("ch3_timesformer", "small", 8, 112, 3),
    ("ch3_resnext", "small", 8, 112, 3),
    ("ch3_1_fusion_cnn_like", "small", 8, 112, 3),
    ("ch3_1_fusion_transformer", "small", 8, 112, 3),
    ("ch3_1_fusion_cnn", "small", 8, 112, 3),
    ("ch3_1_fusion_cnn_like", "tiny", 8, 112, 2),
    ("ch3_1_fusion_cnn_like", "tiny", 8, 64, 3),
    ("ch3_1_fusion_cnn_like", "nano", 8, 112, 10),
    ("ch3_1_fusion_cnn_like", "nano", 8, 64, 10),
    ("ch3_1_fusion_transformer", "nano", 8, 112, 10),
    ("ch3_1_fusion_cnn", "nano", 8, 112, 10),
]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _onnx_session(model, x, threads: int):
    """Legacy-export the model to a temp file and open it in onnxruntime's CPU provider (as the live app runs it)."""
    import tempfile
    import warnings

    import onnxruntime as ort
    import torch

    path = os.path.join(tempfile.mkdtemp(prefix="bench_models_"), "model.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), path, dynamo=False, opset_version=18, input_names=["x"], output_names=["logits"])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    os.remove(path)
    return session


def run_one(name: str, variant: str, frames: int, pixels: int, repeats: int, threads: int) -> dict:
    """Child process: build, time, report peak memory as JSON on stdout."""
    import torch

    from mer_live.models import create_model, model_in_channels

    torch.set_num_threads(threads)
    base_mb = _rss_mb()
    torch.manual_seed(0)
    model = create_model(name, 3, num_frames=frames, image_size=pixels, variant=variant).eval()
    x = torch.randn(1, frames, model_in_channels(name), pixels, pixels)
    times, ort_times = [], []
    session = _onnx_session(model, x, threads) if variant in ONNX_VARIANTS else None
    with torch.inference_mode():
        model(x)  # warm-up
        if session is not None:
            session.run(None, {"x": x.numpy()})
        for _ in range(repeats):  # interleaved, so both see the same machine load
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
            if session is not None:
                start = time.perf_counter()
                session.run(None, {"x": x.numpy()})
                ort_times.append(time.perf_counter() - start)
    return {
        "ort_ms": statistics.median(ort_times) * 1000 if ort_times else None,
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "ms": statistics.median(times) * 1000,
        "min_ms": min(times) * 1000,
        "peak_mb": _rss_mb(),
        "model_mb": _rss_mb() - base_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="run cases whose 'model variant' text contains this")
    parser.add_argument("--threads", type=int, default=1,
                        help="intra-op threads for torch and onnxruntime (default 1: on a busy small machine more threads "
                             "can wait on each other far longer than they compute)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, variant, frames, pixels, repeats = args.child
        print(json.dumps(run_one(name, variant, int(frames), int(pixels), int(repeats), args.threads)))
        return
    import torch

    print(f"torch {torch.__version__}, {args.threads} threads, batch 1, inference_mode; median of N calls after 1 warm-up")
    print(f"load average before start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work inflates the times)")
    header = f"{'model':26s} {'variant':7s} {'T':>3s} {'px':>4s} {'params':>9s} {'forward ms':>11s} {'min ms':>8s} {'pred/s':>7s} {'ort ms':>7s} {'ort/s':>6s} {'peak MB':>8s} {'model MB':>9s}"
    print(header)
    print("-" * len(header))
    total = time.perf_counter()
    live: list[tuple[int, int, float, float]] = []
    for name, variant, frames, pixels, repeats in CASES:
        if args.only and args.only not in f"{name} {variant}":
            continue
        proc = subprocess.run(
            [sys.executable, __file__, "--threads", str(args.threads), "--child", name, variant, str(frames), str(pixels), str(repeats)],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            print(f"{name:26s} {variant:7s} FAILED: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        if (name, variant) == LIVE_CASE[:2]:
            live.append((frames, pixels, 1000 / r["ms"], 1000 / r["ort_ms"]))
        ort_cols = f"{r['ort_ms']:7.1f} {1000 / r['ort_ms']:6.1f}" if r["ort_ms"] else f"{'-':>7s} {'-':>6s}"
        print(f"{name:26s} {variant:7s} {frames:3d} {pixels:4d} {r['params_m']:8.2f}M {r['ms']:11.1f} {r['min_ms']:8.1f} "
              f"{1000 / r['ms']:7.1f} {ort_cols} {r['peak_mb']:8.0f} {r['model_mb']:9.0f}", flush=True)
    for frames, pixels, torch_rate, ort_rate in live:
        print(f"live model {LIVE_CASE[0]} {LIVE_CASE[1]} at {frames} frames {pixels} px (model only): "
              f"onnxruntime {ort_rate:.1f} pred/s = {ort_rate / LIVE_GOAL_PER_S:.1f}x the {LIVE_GOAL_PER_S} pred/s goal; "
              f"torch {torch_rate:.1f} pred/s = {torch_rate / LIVE_GOAL_PER_S:.1f}x")
    print(f"total {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
