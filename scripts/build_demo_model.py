"""Rebuild mer_live/assets/demo_model.onnx: a nano late-fusion model trained on synthetic micro-motions.

    python scripts/build_demo_model.py

is the same as `--out mer_live/assets/demo_model.onnx --streams 6 --epochs 8 --seed 0 --threads 1`. It takes
minutes on a 2-core CPU and prints where the time went.

Why a direct training loop and not `mer-train --final`: the live engine classifies sliding windows of a
stream (the motion anywhere inside a 0.5 s window, crop from the tracker's still box), not onset-to-offset
dataset clips, so the demo model is trained on exactly those windows: synthetic streams
(mer_live.synthetic.stream.make_stream), MTCNN box on the first frame, mer_live.streaming.window.prepare_window
(the engine's own features), exported with the project's verified exporter
(export.onnx_export.export_checkpoint, which keeps no source paths in the file).

Three kinds of stream, never mixed:
- training: the streams of seeds 1000 * seed + 1 .. 1000 * seed + streams;
- validation: ONE stream of seed 1000 * seed + VALIDATION_OFFSET, with its own order of classes: the
  script's check (window accuracy after every epoch, then the engine's events on it) and its exit status;
- the demo stream (mer_live.streaming.demo, seed 0) is never touched here: it is what the shipped model is
  judged on (`mer-live --demo`, tests/test_streaming_demo.py).

Deterministic: the same command on the same machine writes the same bytes (seeded initialisation and data
order, a fixed number of torch threads, deterministic algorithms; the file holds no paths or times).
Another CPU or torch build may round differently. The result knows only synthetic motions.
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
DEFAULTS = {"out": "mer_live/assets/demo_model.onnx", "streams": 6, "epochs": 8, "seed": 0, "threads": 1}
VALIDATION_OFFSET = 999              # the validation stream's seed is 1000 * seed + 999
# The demo stream's timing with another order of classes (the demo's: po sur ne sur ne po).
VALIDATION_EVENTS = ((2.0, "sur"), (3.5, "ne"), (5.0, "po"), (6.5, "ne"), (8.0, "po"), (9.5, "sur"))


def stream_windows(seed: int, spec: ModelSpec, min_overlap: float = 0.6, step: int = 1):
    """(features (N, T, C, H, W), labels (N,)) of every window that holds >= min_overlap of an event."""
    import cv2

    from mer_live.face import FaceDetector, crop, square_box
    from mer_live.streaming.face_tracker import TrackerConfig
    from mer_live.streaming.window import Window, prepare_window
    from mer_live.synthetic.stream import make_stream

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
                                captured_at=0.0, box_changes=0)
                xs.append(prepare_window(window, spec).features)
                ys.append(CLASSES.index(event.label_name))
    return np.stack(xs), np.array(ys)


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(torch.from_numpy(x[i:i + 64])).argmax(1) for i in range(0, len(x), 64)])
    return float((predicted.numpy() == y).mean())


def train(x: np.ndarray, y: np.ndarray, validation: tuple[np.ndarray, np.ndarray], spec: ModelSpec, epochs: int,
          seed: int):
    import torch

    from mer_live.models import create_model
    from mer_live.progress import progress, write

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
        for i in progress(range(0, len(x), 16), desc=f"epoch {epoch + 1}/{epochs}", leave=False):
            idx = order[i:i + 16]
            logits = model(xt[idx])
            loss = torch.nn.functional.cross_entropy(logits, yt[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yt[idx]).sum())
        write(f"epoch {epoch + 1}: loss {total_loss / len(x):.3f} train acc {correct / len(x):.3f} "
              f"validation acc {accuracy(model, *validation):.3f}")
    return model.eval()


def check_events(model_path: Path, source) -> bool:
    """Run the engine on a stream: one event per true event, at the right time (0.15 s) and of the right class?"""
    from mer_live.runtime import OnnxClassifier
    from mer_live.streaming.engine import Engine, EngineConfig

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / DEFAULTS["out"], help=f"(default {DEFAULTS['out']})")
    parser.add_argument("--streams", type=int, default=DEFAULTS["streams"],
                        help=f"synthetic training streams (default {DEFAULTS['streams']})")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"], help=f"(default {DEFAULTS['epochs']})")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                        help=f"picks the training and validation streams and the initialisation (default {DEFAULTS['seed']})")
    parser.add_argument("--threads", type=int, default=DEFAULTS["threads"],
                        help=f"torch threads; the same number gives the same bytes (default {DEFAULTS['threads']})")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.streams < VALIDATION_OFFSET:
        parser.error(f"--streams must be 1..{VALIDATION_OFFSET - 1} (seed {VALIDATION_OFFSET} is the validation stream's)")

    import torch

    from export.onnx_export import export_checkpoint
    from mer_live import __version__
    from mer_live.checkpoint import Checkpoint, save_checkpoint
    from mer_live.progress import progress

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    started = time.perf_counter()
    base = 1000 * args.seed
    xs, ys = [], []
    for stream in progress(range(1, args.streams + 1), desc="synthetic training streams"):
        x, y = stream_windows(base + stream, DEMO_SPEC)
        xs.append(x)
        ys.append(y)
    x, y = np.concatenate(xs), np.concatenate(ys)
    validation = stream_windows(base + VALIDATION_OFFSET, DEMO_SPEC)
    print(f"{len(x)} training windows ({np.bincount(y, minlength=len(CLASSES)).tolist()} per class), "
          f"{len(validation[0])} validation windows, in {time.perf_counter() - started:.0f} s", flush=True)
    model = train(x, y, validation, DEMO_SPEC, args.epochs, args.seed)
    info = {"held_out": None, "epoch": args.epochs, "epochs": args.epochs, "seed": args.seed,
            "options": {"script": "scripts/build_demo_model.py", "streams": args.streams, "threads": args.threads},
            "mer_live_version": __version__, "note": "demo model: synthetic motions only"}
    with tempfile.TemporaryDirectory() as tmp:
        ckpt_path = Path(tmp) / "demo.pt"
        save_checkpoint(ckpt_path, Checkpoint(spec=DEMO_SPEC, state_dict=model.state_dict(), info=info))
        result = export_checkpoint(ckpt_path, args.out)
    print(f"wrote {args.out} ({result.size_bytes / 1e6:.2f} MB, {result.exporter} exporter) "
          f"in {time.perf_counter() - started:.0f} s")
    print(f"checking the engine on the validation stream (seed {base + VALIDATION_OFFSET}, never trained on):")
    source = demo.demo_source(seed=base + VALIDATION_OFFSET, events=VALIDATION_EVENTS)
    ok = check_events(args.out, source)
    print("validation stream check: " + ("PASSED" if ok else "FAILED")
          + f" ({time.perf_counter() - started:.0f} s in all)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
