"""Optical flow time per live window: OpenCV's Farneback against mer_live.torch_flow, side by side.

A window is the paper's: 16 flow pairs (17 frames) of a synthetic face (mer_live.synthetic) at 112 and 224 px.
Each backend computes the whole window through `mer_live.flow.clip_flow`, as the engine does (torch: frames to
the device, all pairs in one batch, the flow back to the host), `--repeats` times after a warm-up; the median
is printed with the ratio to OpenCV on one thread (> 1: quicker), and each torch run's end-point error against
OpenCV's flow (mean and 95th percentile, px; torch_flow's stated tolerance is 0.001 / 0.002 px).

    python benchmarks/bench_flow.py [--sizes 112 224] [--pairs 16] [--repeats 5] [--cuda auto|on|off]

--cuda on fails (exit 1) when PyTorch sees no CUDA GPU; auto adds the CUDA rows where there is one.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch

from mer_live.flow import OPENCV, FlowBackend, clip_flow, live_flow_threads, to_gray
from mer_live.torch_flow import EPE_MEAN_TOLERANCE, EPE_P95_TOLERANCE


def window_frames(size: int, pairs: int) -> np.ndarray:
    """pairs + 1 gray frames of a synthetic face smiling (1-2 px of local motion, 1 grey level of noise)."""
    from mer_live.synthetic.render import MOTIONS, motion_field, random_look, render_frames, render_still

    rng = np.random.default_rng(0)
    look = random_look(rng, (size, size), raw=False)
    amplitude = np.sin(np.linspace(0, np.pi, pairs + 1)) * 2.0
    frames = render_frames(look, render_still(look), motion_field(look, MOTIONS["smile"]), amplitude, rng, 1.0)
    return to_gray(frames)


def timed(run, repeats: int, cuda: bool) -> tuple[float, np.ndarray]:
    """Median seconds of `run()` after one warm-up call, and its last result."""
    result = run()
    times = []
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        result = run()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def end_point_error(flow: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """The worst pair's mean and 95th-percentile end-point error (px)."""
    epe = np.hypot(flow[..., 1] - reference[..., 1], flow[..., 2] - reference[..., 2]).reshape(len(flow), -1)
    return float(epe.mean(axis=1).max()), float(np.percentile(epe, 95, axis=1).max())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[112, 224], help="frame sides in px")
    p.add_argument("--pairs", type=int, default=16, help="flow pairs per window (the paper's model: 16)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--cuda", choices=("auto", "on", "off"), default="auto")
    args = p.parse_args(argv)
    cuda = args.cuda != "off" and torch.cuda.is_available()
    if args.cuda == "on" and not cuda:
        print("bench_flow: --cuda on, but PyTorch sees no CUDA GPU here", file=sys.stderr)
        return 1
    threads = live_flow_threads()
    backends = [("opencv, 1 thread", OPENCV, 1), (f"opencv, {threads} threads (live)", OPENCV, threads),
                (f"torch cpu, {torch.get_num_threads()} threads", FlowBackend("torch", "cpu"), 1)]
    if cuda:
        backends.append((f"torch cuda ({torch.cuda.get_device_name()})", FlowBackend("torch", "cuda"), 1))
    print(f"flow per window of {args.pairs} pairs, median of {args.repeats}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} torch threads; speed = OpenCV 1 thread's time / this time")
    failed = False
    for size in args.sizes:
        gray = window_frames(size, args.pairs)
        print(f"\n{size}x{size} px")
        print(f"  {'backend':44s} {'ms/window':>10s} {'speed':>7s}   EPE vs OpenCV (worst pair: mean / p95 px)")
        reference_s = reference = None
        for name, backend, n_threads in backends:
            seconds, flow = timed(lambda: clip_flow(gray, n_threads, backend), args.repeats,
                                  cuda and backend.device == "cuda")
            if reference is None:
                reference_s, reference = seconds, flow
            epe = ""
            if backend.name == "torch":
                mean, p95 = end_point_error(flow, reference)
                within = mean <= EPE_MEAN_TOLERANCE and p95 <= EPE_P95_TOLERANCE
                failed |= not within
                epe = f"{mean:.1e} / {p95:.1e}" + ("" if within else "  OVER THE TOLERANCE")
            print(f"  {name:44s} {seconds * 1000:10.1f} {reference_s / seconds:6.2f}x   {epe}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
