"""`mer-live --headless`: the live engine without a window, one CSV row per window, events at the end.

Reads as fast as it can (no real-time pacing) and classifies every window (engine.run(): nothing is
dropped), so the CSV is the same on a fast and a slow machine.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
from pathlib import Path

from tqdm import tqdm

from mer_live.atomic import atomic_path
from mer_live.streaming.events import MicroExpressionEvent, StatusMessage, WindowResult
from mer_live.streaming.timings import format_stages

WINDOW_COLUMNS = ("window_index", "t_start", "t_end", "spot_score", "is_candidate", "top_class", "confidence")
EVENT_COLUMNS = ("start", "end", "kind", "label", "confidence", "peak_score", "reported_at")


class HeadlessListener:
    """Collects rows and events, drives a tqdm bar, prints status lines above it."""

    def __init__(self, total_frames: int | None, quiet: bool = False):
        self.rows: list[WindowResult] = []
        self.events: list[MicroExpressionEvent] = []
        self.status: list[StatusMessage] = []
        self.frames = 0
        self.quiet = quiet
        self.bar = tqdm(total=total_frames, unit="frame", desc="mer-live", disable=quiet, file=sys.stderr,
                        dynamic_ncols=True)

    def on_frame(self, info) -> None:
        self.frames += 1
        self.bar.update(1)

    def on_result(self, result: WindowResult) -> None:
        self.rows.append(result)
        if result.is_candidate:
            self.bar.set_postfix_str(f"t={result.t_end:.2f}s {result.top_class} score={result.spot_score:.1f}")

    def on_event(self, event: MicroExpressionEvent) -> None:
        self.events.append(event)

    def on_status(self, message: StatusMessage) -> None:
        self.status.append(message)
        if message.level != "info" or not self.quiet:
            tqdm.write(f"[{message.level}] {message.text}", file=sys.stderr)

    def on_finished(self) -> None:
        self.bar.close()


def write_windows_csv(path: str | Path, results: list[WindowResult], class_names: tuple[str, ...]) -> None:
    """One row per window: times, spotting score, candidate flag, top class, confidence, per-class probs."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(WINDOW_COLUMNS + tuple(f"p_{name}" for name in class_names))
            for r in results:
                writer.writerow([r.window_index, f"{r.t_start:.4f}", f"{r.t_end:.4f}", f"{r.spot_score:.4f}",
                                 int(r.is_candidate), r.top_class, f"{r.confidence:.4f}",
                                 *(f"{p:.4f}" for p in r.probs)])


def write_events_csv(path: str | Path, events: list[MicroExpressionEvent]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(EVENT_COLUMNS)
            for e in events:
                writer.writerow([f"{e.start:.4f}", f"{e.end:.4f}", e.kind, e.label, f"{e.confidence:.4f}",
                                 f"{e.peak_score:.2f}", f"{e.reported_at:.4f}"])


def format_events(events: list[MicroExpressionEvent]) -> str:
    if not events:
        return "no micro- or macro-expression events spotted"
    micro = sum(e.kind == "micro" for e in events)
    lines = [f"{micro} micro-expression event(s), {len(events) - micro} macro-expression event(s):"]
    for i, e in enumerate(events, 1):
        label = f"{e.label:<12s} confidence {e.confidence:.2f}" if e.label else f"{'-':<12s} {'':15s}"
        lines.append(f"  {i:3d}. {e.start:8.2f}-{e.end:8.2f} s  {e.kind:<5s}  {label}  peak score {e.peak_score:.1f}")
    return "\n".join(lines)


def engine_config_from_args(args: argparse.Namespace):
    from mer_live.streaming.engine import EngineConfig
    from mer_live.streaming.spotting import SpotterConfig

    spotter = SpotterConfig(threshold=args.threshold) if getattr(args, "threshold", None) else SpotterConfig()
    return EngineConfig(stride_s=args.stride, clip_seconds=getattr(args, "clip_seconds", None),
                        detect_every=args.detect_every, face=args.face, spotter=spotter)


def run_headless(args: argparse.Namespace) -> int:
    """Run the engine over a source; write the CSV(s); print the events. Returns the exit status."""
    from mer_live.streaming import demo
    from mer_live.streaming.engine import Engine
    from mer_live.streaming.sources import SourceError, open_source

    quiet = bool(getattr(args, "quiet", False))
    if args.demo:
        print(demo.DEMO_NOTE, file=sys.stderr)
    try:
        model_path = args.model or (demo.demo_model_path() if args.demo else None)
        if model_path is None:
            print("error: --model is required (an .onnx file written by mer-export); or try --demo", file=sys.stderr)
            return 2
        from mer_live.runtime import OnnxClassifier

        # stride windows are classified only for their CSV rows (--out); events are classified in any case
        config = dataclasses.replace(engine_config_from_args(args), classify_windows=bool(args.out))
        classifier = OnnxClassifier(model_path, provider=args.provider, batch_size=config.batch)
        if args.demo and args.source in (None, "synthetic", "demo"):
            source = demo.demo_source(realtime=False)
        elif args.source is None:
            print("error: --source is required: a camera index, a video file, a folder of frames or 'synthetic'",
                  file=sys.stderr)
            return 2
        else:
            source = open_source(args.source, realtime=False, fps=getattr(args, "fps", None))
    except (SourceError, FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    spec = classifier.spec
    if not quiet:
        print(f"model {model_path}: {spec.model} {spec.variant}, {spec.num_frames} frames {spec.image_size[0]}x"
              f"{spec.image_size[1]} {spec.feature}, classes {', '.join(spec.class_names)}; "
              f"provider {classifier.provider}", file=sys.stderr)
    listener = HeadlessListener(total_frames=source.frame_count(), quiet=quiet)
    engine = Engine(source, classifier, config, listener)
    interrupted = False
    try:
        engine.run()
    except KeyboardInterrupt:
        interrupted = True
        listener.bar.close()
        print("interrupted: writing what was processed so far", file=sys.stderr)
    if args.out:
        write_windows_csv(args.out, listener.rows, tuple(spec.class_names))
        print(f"wrote {len(listener.rows)} window rows to {args.out}", file=sys.stderr)
    if getattr(args, "events", None):
        write_events_csv(args.events, listener.events)
        print(f"wrote {len(listener.events)} events to {args.events}", file=sys.stderr)
    print(format_events(listener.events))
    if args.demo:
        truth = getattr(source, "truth_events", None)
        if truth:
            print("demo ground truth: " + "; ".join(f"{s:.2f}-{e:.2f} s {label}" for s, e, label in truth))
    stats = engine.stats()
    if not quiet:
        print(f"{stats.frames} frames, {stats.windows} windows, {stats.inference_rate:.1f} windows/s, "
              f"provider {stats.provider}; stages {format_stages(stats.stages)}", file=sys.stderr)
    if interrupted:
        return 130
    failed = any(m.level == "error" for m in listener.status)
    return 1 if failed else 0
