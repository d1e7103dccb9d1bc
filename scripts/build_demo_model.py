"""Rebuild mer_live/assets/demo_model.onnx: a nano late-fusion model trained on synthetic micro-motions.

Why a direct training loop and not `mer-train --final`: the live engine classifies sliding windows of a
stream (the motion anywhere inside a 0.5 s window, crop from the tracker's still box), not onset-to-offset
dataset clips, so the demo model is trained on exactly those windows: synthetic streams
(mer_live.synthetic.make_stream) of seeds OTHER than the demo stream's, MTCNN box on the first frame,
mer_live.streaming.window.prepare_window (the engine's own features), and exported with the project's
verified exporter (export.onnx_export.export_checkpoint). Deterministic from --seed; a few minutes on a
2-core CPU. The result knows only synthetic motions.

    python scripts/build_demo_model.py [--out mer_live/assets/demo_model.onnx] [--streams 8] [--epochs 8]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mer_live.spec import ModelSpec  # noqa: E402
from mer_live.streaming import demo  # noqa: E402

CLASSES = ("ne", "po", "sur")        # SMIC's classes, in its index order
DEMO_SPEC = ModelSpec(model="ch3_1_fusion_cnn", class_names=CLASSES, num_frames=8, image_size=(64, 64),
                      feature="GRAY_OF", interpolation="linear", variant="nano", fps=demo.DEMO_FPS,
                      clip_seconds=0.5, dataset="synthetic")


def stream_windows(seed: int, spec: ModelSpec, min_overlap: float = 0.6, step: int = 1):
    """(features (N, T, C, H, W), labels (N,)) of every window that holds >= min_overlap of an event."""
    import cv2

    from mer_live.face import FaceDetector, crop, square_box
    from mer_live.streaming.face_tracker import TrackerConfig
    from mer_live.streaming.window import Window, prepare_window
    from mer_live.synthetic import make_stream

    rng = np.random.default_rng([seed, 7])
    labels = [c for c in CLASSES for _ in range(2)]
    rng.shuffle(labels)
    starts = 0.8 + np.arange(len(labels)) * 1.0 + rng.uniform(0, 0.3, len(labels))
    events = list(zip(starts.round(2).tolist(), labels))
    frames, truth = make_stream(events=events, duration_s=float(starts[-1] + 1.0), fps=spec.fps, seed=seed,
                                event_s=demo.DEMO_EVENT_S, amplitude_px=float(rng.uniform(1.8, 3.0)))
    face = FaceDetector().detect(frames[0])
    if face is None:
        raise RuntimeError(f"MTCNN found no face in synthetic stream seed {seed}")
    box = square_box(face.box, frames.shape[1:3], TrackerConfig().margin)
    h, w = spec.image_size
    crops = np.stack([cv2.resize(crop(f, box), (w, h), interpolation=cv2.INTER_AREA) for f in frames])
    n = int(round(spec.clip_seconds * spec.fps))
    xs, ys = [], []
    for end in range(n - 1, len(crops), step):
        first = end - n + 1
        for event in truth:
            overlap = min(end, event.end_frame) - max(first, event.start_frame) + 1
            if overlap >= min_overlap * (event.end_frame - event.start_frame + 1):
                window = Window(index=0, t_start=first / spec.fps, t_end=end / spec.fps, frames=crops[first:end + 1],
                                captured_at=0.0, anchor_epoch=0)
                xs.append(prepare_window(window, spec).features)
                ys.append(CLASSES.index(event.label_name))
    return np.stack(xs), np.array(ys)


def train(x: np.ndarray, y: np.ndarray, spec: ModelSpec, epochs: int, seed: int):
    import torch
    from tqdm import tqdm

    from mer_live.models import create_model

    torch.manual_seed(seed)
    model = create_model(spec.model, spec.num_classes, num_frames=spec.num_frames, image_size=spec.image_size,
                         variant=spec.variant)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=epochs * ((len(x) + 15) // 16))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        correct, total_loss = 0, 0.0
        for i in tqdm(range(0, len(x), 16), desc=f"epoch {epoch + 1}/{epochs}", leave=False):
            idx = order[i:i + 16]
            logits = model(xt[idx])
            loss = torch.nn.functional.cross_entropy(logits, yt[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yt[idx]).sum())
        print(f"epoch {epoch + 1}: loss {total_loss / len(x):.3f} train acc {correct / len(x):.3f}", flush=True)
    return model.eval()


def check_on_demo_stream(model_path: Path) -> bool:
    """Run the engine on the demo stream (a seed never trained on): events at the right times and classes?"""
    from mer_live.runtime import OnnxClassifier
    from mer_live.streaming.engine import Engine, EngineConfig

    source = demo.demo_source()
    events = Engine(source, OnnxClassifier(model_path, provider="cpu"), EngineConfig()).run()
    ok = len(events) == len(source.truth_events)
    for (start, end, label), event in zip(source.truth_events, events):
        hit = abs(event.start - start) <= 0.15 and event.label == label
        ok &= hit
        print(f"  truth {start:5.2f}-{end:5.2f} {label:<4s} spotted {event.start:5.2f}-{event.end:5.2f} "
              f"{event.label:<4s} ({event.confidence:.2f}) {'ok' if hit else 'WRONG'}")
    if len(events) != len(source.truth_events):
        print(f"  {len(events)} events spotted, {len(source.truth_events)} in the stream")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=demo.ASSET)
    parser.add_argument("--streams", type=int, default=6, help="synthetic training streams (seeds 1..N)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch
    from tqdm import tqdm

    from export.onnx_export import export_checkpoint
    from mer_live.checkpoint import Checkpoint, save_checkpoint

    torch.set_num_threads(max(1, torch.get_num_threads()))
    started = time.perf_counter()
    xs, ys = [], []
    for seed in tqdm(range(1, args.streams + 1), desc="synthetic streams"):
        x, y = stream_windows(seed + 1000 * args.seed, DEMO_SPEC)
        xs.append(x)
        ys.append(y)
    x, y = np.concatenate(xs), np.concatenate(ys)
    print(f"{len(x)} training windows ({np.bincount(y, minlength=len(CLASSES)).tolist()} per class) "
          f"in {time.perf_counter() - started:.0f} s", flush=True)
    model = train(x, y, DEMO_SPEC, args.epochs, args.seed)
    info = {"held_out": None, "epoch": args.epochs, "epochs": args.epochs, "seed": args.seed,
            "options": {"script": "scripts/build_demo_model.py", "streams": args.streams},
            "mer_live_version": "0.1.0", "note": "demo model: synthetic motions only"}
    with tempfile.TemporaryDirectory() as tmp:
        ckpt_path = Path(tmp) / "demo.pt"
        save_checkpoint(ckpt_path, Checkpoint(spec=DEMO_SPEC, state_dict=model.state_dict(), info=info))
        result = export_checkpoint(ckpt_path, args.out)
    print(f"wrote {args.out} ({result.size_bytes / 1e6:.2f} MB) in {time.perf_counter() - started:.0f} s")
    print("checking on the demo stream (seed 0, never trained on):")
    ok = check_on_demo_stream(args.out)
    print("demo stream check: " + ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
