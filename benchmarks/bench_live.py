"""Live engine speed, measured side by side in one run: does the display keep the capture rate while the
model runs, how late is a window's result, and how many predictions per second does the model manage?

    python benchmarks/bench_live.py [--model M.onnx] [--provider cpu|cuda|tensorrt] [--fps 30] [--seconds 11]

The source is the demo stream paced in real time at --fps (a camera stand-in), face detection (MTCNN) and
inference on their own threads, exactly as in the GUI; mer-live's first engine (EngineConfig.legacy()) and
this one run one after the other. Goals: delivered (display) fps = capture fps, and >= 5 predictions/s. With no --model the shipped demo model (nano late fusion, 8 frames, 64 px) is used;
for the paper's model on a GPU give its export and --provider cuda.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mer_live.runtime import PROVIDER_CHOICES, OnnxClassifier  # noqa: E402
from mer_live.streaming import demo  # noqa: E402
from mer_live.streaming.engine import Engine, EngineConfig  # noqa: E402
from mer_live.streaming.timings import format_stages  # noqa: E402
from mer_live.streaming.window import Window, prepare_window  # noqa: E402


class Probe:
    """A listener that timestamps every delivered frame and result (what a display would get)."""

    def __init__(self):
        self.frame_times: list[float] = []
        self.latencies: list[float] = []
        self.result_times: list[float] = []
        self.events = []
        self.first_window_end: float | None = None
        self.done = threading.Event()

    def on_frame(self, info):
        self.frame_times.append(time.perf_counter())

    def on_result(self, result):
        self.result_times.append(time.perf_counter())
        self.latencies.append(result.latency_s)
        if self.first_window_end is None:
            self.first_window_end = result.t_end

    def on_event(self, event):
        self.events.append(event)

    def on_status(self, message):
        if message.level != "info":
            print(f"[{message.level}] {message.text}")

    def on_finished(self):
        self.done.set()


def rate(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0


def model_throughput(classifier: OnnxClassifier, frames: np.ndarray, seconds: float = 3.0) -> tuple[float, float]:
    """(predictions/s of the model alone, windows/s of features + model) on one thread, back to back."""
    spec = classifier.spec
    window = Window(index=0, t_start=0.0, t_end=spec.clip_seconds, frames=frames, captured_at=0.0, box_changes=0)
    x = prepare_window(window, spec).features[None]
    classifier.predict(x)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        classifier.predict(x)
        n += 1
    predict_rate = n / (time.perf_counter() - start)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        classifier.predict(prepare_window(window, spec).features[None])
        n += 1
    return predict_rate, n / (time.perf_counter() - start)


def feature_times(spec, frames: np.ndarray, repeats: int = 5) -> tuple[float, float, int]:
    """Median ms of one window's features (resize, interpolation, flow, channels) with the flow on one thread
    and on the live engine's flow threads, side by side; and that thread count."""
    from mer_live.features import prepare_clip
    from mer_live.flow import live_flow_threads

    threads = live_flow_threads()
    medians = []
    for n in (1, threads):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            prepare_clip(frames, spec.num_frames, tuple(spec.image_size), spec.interpolation, spec.feature,
                         flow_threads=n)
            times.append(time.perf_counter() - start)
        medians.append(float(np.median(times)) * 1000)
    return medians[0], medians[1], threads


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default: the demo model)")
    parser.add_argument("--provider", default="cpu", choices=PROVIDER_CHOICES)
    parser.add_argument("--fps", type=float, default=30.0, help="capture rate of the paced stream")
    parser.add_argument("--seconds", type=float, default=demo.DEMO_DURATION_S)
    parser.add_argument("--stride", type=float, default=0.1)
    args = parser.parse_args(argv)

    model = args.model or demo.demo_model_path()
    classifier = OnnxClassifier(model, provider=args.provider, batch_size=1)
    spec = classifier.spec
    source = demo.demo_source(realtime=True, fps=args.fps, duration_s=args.seconds)
    print(f"model {model.name}: {spec.model} {spec.variant} {spec.num_frames}x{spec.image_size[0]}px {spec.feature} "
          f"on {classifier.provider}; stream {len(source.frames)} frames at {args.fps:g} fps, stride {args.stride} s; "
          f"mer-live's first engine and this one, one after the other")

    import cv2

    crop_frames = np.stack([cv2.resize(f[60:200, 90:230], spec.image_size[::-1]) for f in
                            source.frames[: int(spec.clip_seconds * args.fps)]])
    predict_rate, window_rate = model_throughput(classifier, crop_frames)
    print(f"model alone            {predict_rate:6.1f} predictions/s; features + model {window_rate:6.1f} windows/s "
          f"(one thread, back to back)")
    one, many, threads = feature_times(spec, crop_frames)
    print(f"window features        {one:6.1f} ms with the flow on 1 thread, {many:6.1f} ms on {threads} "
          f"(the live engine's): {one / max(many, 1e-9):.2f}x")
    for name, config in (("first engine (legacy)", EngineConfig.legacy(stride_s=args.stride)),
                         ("this engine", EngineConfig(stride_s=args.stride))):
        source = demo.demo_source(realtime=True, fps=args.fps, duration_s=args.seconds)
        live_run(name, source, classifier, config, args)
    return 0


def live_run(name: str, source, classifier, config: EngineConfig, args) -> None:
    """One engine on the paced stream, as the GUI runs it (threads); its figures."""
    probe = Probe()
    engine = Engine(source, classifier, config, probe)
    engine.start()
    engine.join()
    stats = engine.stats()
    gaps = np.diff(probe.frame_times) if len(probe.frame_times) > 1 else np.zeros(1)
    lat = np.array(probe.latencies) * 1000 if probe.latencies else np.zeros(1)
    capture_fps = stats.capture_fps
    display_fps = rate(probe.frame_times)
    live_preds = rate(probe.result_times)
    print(f"--- {name}")
    print(f"capture fps            {capture_fps:6.1f}   (source paced at {args.fps:g})")
    print(f"delivered/display fps  {display_fps:6.1f}   ratio display/capture {display_fps / max(capture_fps, 1e-9):.3f}"
          f"   longest frame gap {gaps.max() * 1000:.0f} ms (frame period {1000 / args.fps:.0f} ms)")
    print(f"frames captured {stats.frames}, delivered {len(probe.frame_times)}")
    print(f"live predictions/s     {live_preds:6.1f}   (at most 1/stride = {1 / args.stride:g}); windows "
          f"classified {stats.windows}, dropped as stale {stats.dropped_windows}")
    print(f"latency last frame -> result: median {np.median(lat):.0f} ms, p95 {np.percentile(lat, 95):.0f} ms, "
          f"max {lat.max():.0f} ms")
    print(f"stages: {format_stages(stats.stages)}")
    ok_display = display_fps >= 0.98 * capture_fps and stats.frames == len(probe.frame_times)
    ok_preds = live_preds >= 5.0
    print(f"goals: display fps = capture fps: {'MET' if ok_display else 'MISSED'}; >= 5 predictions/s: "
          f"{'MET' if ok_preds else 'MISSED'}")
    first = probe.first_window_end
    found = sum(any(abs(e.start - s) <= 0.2 and e.label == label for e in probe.events)
                for s, _, label in source.truth_events)
    print(f"first window ended at t={first if first is not None else float('nan'):.2f} s of the stream; events "
          f"spotted: {len(probe.events)}, of which at a true event's time and class: {found} of "
          f"{len(source.truth_events)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
