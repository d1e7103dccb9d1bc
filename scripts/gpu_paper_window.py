"""One live window of the paper's model on one device: torch Farneback flow, features, then the model.

Issue 24 asks whether the paper's model (`ch3_1_fusion_cnn_like` base, 16 x 224 px, GRAY_OF) can classify
>= 15 windows/s with a p95 latency under 100 ms once the flow runs on the GPU. This times, per window, the
three stages the live engine runs after the face crop, on a synthetic smiling face (random model weights):

  flow      mer_live.flow.clip_flow with the torch backend on --device (17 gray frames -> 16 flows, back to
            the host, as the engine gets them)
  features  mer_live.features.compose_features (host numpy, GRAY_OF)
  model     the input to --device and the forward pass in PyTorch (inference_mode), synchronised

It also times the model alone (the same input, already on the device). `--warmup` untimed windows first,
then `--iters` timed ones, one after the other (batch 1); windows/s is 1 / the mean window time.

    python scripts/gpu_paper_window.py --device cuda                       # the paper's sizes
    python scripts/gpu_paper_window.py --device cpu --size 32 --frames 4 --variant nano --iters 3   # a try
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch

from mer_live.features import compose_features
from mer_live.flow import FlowBackend, clip_flow, to_gray
from mer_live.models import create_model

MODEL = "ch3_1_fusion_cnn_like"
FEATURE = "GRAY_OF"


def smiling_face(size: int, frames: int) -> np.ndarray:
    """frames + 1 RGB frames (uint8) of a synthetic face smiling, 1-2 px of local motion."""
    from mer_live.synthetic.render import MOTIONS, motion_field, random_look, render_frames, render_still

    rng = np.random.default_rng(0)
    look = random_look(rng, (size, size), raw=False)
    amplitude = np.sin(np.linspace(0, np.pi, frames + 1)) * 2.0
    return render_frames(look, render_still(look), motion_field(look, MOTIONS["smile"]), amplitude, rng, 1.0)


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds), q)) * 1000


def summary(name: str, seconds: list[float]) -> str:
    return (f"  {name:24s} p50 {percentile_ms(seconds, 50):8.1f} ms   p95 {percentile_ms(seconds, 95):8.1f} ms   "
            f"mean {statistics.fmean(seconds) * 1000:8.1f} ms")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="torch device for the flow and the model: cuda or cpu")
    p.add_argument("--variant", default="base", help="model size (the paper's: base)")
    p.add_argument("--frames", type=int, default=16, help="frames per window (the paper's: 16)")
    p.add_argument("--size", type=int, default=224, help="frame side in px (the paper's: 224)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--iters", type=int, default=50)
    args = p.parse_args(argv)
    if args.frames < 1 or args.size < 8 or args.iters < 1 or args.warmup < 0:
        print("gpu_paper_window: need --frames >= 1, --size >= 8, --iters >= 1, --warmup >= 0", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda and not torch.cuda.is_available():
        print("gpu_paper_window: --device cuda, but PyTorch sees no CUDA GPU here", file=sys.stderr)
        return 1

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    torch.manual_seed(0)
    net = create_model(MODEL, 3, num_frames=args.frames, image_size=args.size, variant=args.variant)
    net = net.to(device).eval()
    params_m = sum(p.numel() for p in net.parameters()) / 1e6
    rgb = smiling_face(args.size, args.frames)
    gray = to_gray(rgb)
    backend = FlowBackend("torch", str(device))
    name = torch.cuda.get_device_name(device) if cuda else "CPU"
    print(f"{MODEL} {args.variant} ({params_m:.1f} M params, random weights), {args.frames} x {args.size} px "
          f"{FEATURE}, batch 1, on {device} ({name}); torch {torch.__version__}; "
          f"{args.warmup} warm-up + {args.iters} timed windows")

    stages: dict[str, list[float]] = {"flow (torch)": [], "features (host)": [], "model (to device + fwd)": [],
                                      "window (all three)": []}
    with torch.inference_mode():
        for i in range(args.warmup + args.iters):
            sync()
            t0 = time.perf_counter()
            flow = clip_flow(gray, 1, backend)                       # host numpy, as the engine receives it
            t1 = time.perf_counter()
            x = compose_features(rgb, flow, FEATURE, args.frames)    # (T, C, H, W) float32
            t2 = time.perf_counter()
            logits = net(torch.from_numpy(x)[None].to(device))
            probs = torch.softmax(logits, dim=1).cpu()               # the engine reads the probabilities back
            sync()
            t3 = time.perf_counter()
            if i >= args.warmup:
                for key, s in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)):
                    stages[key].append(s)
        alone = []
        x_dev = torch.from_numpy(x)[None].to(device)
        for i in range(args.warmup + args.iters):
            sync()
            t0 = time.perf_counter()
            net(x_dev)
            sync()
            if i >= args.warmup:
                alone.append(time.perf_counter() - t0)
    if not torch.isfinite(probs).all():
        print("gpu_paper_window: the model gave non-finite probabilities", file=sys.stderr)
        return 1
    for key, seconds in stages.items():
        print(summary(key, seconds))
    print(summary("model alone (fwd)", alone))
    window = stages["window (all three)"]
    print(f"windows/s {1 / statistics.fmean(window):.2f} (flow + features + model, one after the other); "
          f"model alone {1 / statistics.fmean(alone):.2f}/s; window latency p50 {percentile_ms(window, 50):.1f} ms, "
          f"p95 {percentile_ms(window, 95):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
