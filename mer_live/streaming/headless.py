"""`mer-live --headless`: the live engine without a window, one CSV row per window, events at the end.

Reads as fast as it can (no real-time pacing) and, with `--out`, classifies every window in batches
(engine.run(): nothing is dropped), so the CSV is the same on a fast and a slow machine; without `--out`
only the spotted micro-expressions' clips are classified. Everything slow to start (the demo stream,
the ONNX Runtime session, the face detector with PyTorch) is loaded and named before the progress starts,
so the first frame is not charged with it and a first run does not look stuck.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mer_live.atomic import atomic_path
from mer_live.progress import progress, write
from mer_live.streaming.engine import Engine, EngineConfig
from mer_live.streaming.events import MicroExpressionEvent, StatusMessage, WindowResult
from mer_live.streaming.source_argument import open_source, source_path, use_model_rate
from mer_live.streaming.sources import FrameSource, SourceError
from mer_live.streaming.timings import format_stages

WINDOW_COLUMNS = ("window_index", "t_start", "t_end", "spot_score", "is_candidate", "spot_state", "top_class",
                  "confidence")
EVENT_COLUMNS = ("start", "end", "kind", "label", "confidence", "peak_score", "reported_at")


class HeadlessListener:
    """Collects rows and events, drives the progress (a bar on a terminal, a line every few seconds in a
    log), prints status lines above it."""

    def __init__(self, total_frames: int | None, quiet: bool = False):
        self.rows: list[WindowResult] = []
        self.events: list[MicroExpressionEvent] = []
        self.status: list[StatusMessage] = []
        self.frames = 0
        self.faces = 0                  # frames with a face box (no face at all: no window can be made)
        self.quiet = quiet
        self.bar = progress(total=total_frames, unit="frame", desc="mer-live", disable=quiet)

    def on_frame(self, info) -> None:
        self.frames += 1
        self.faces += info.face_box is not None
        self.bar.update(1)

    def on_result(self, result: WindowResult) -> None:
        self.rows.append(result)
        if result.is_candidate:
            self.bar.set_postfix_str(f"t={result.t_end:.2f}s {result.top_class} score={result.spot_score:.1f}")

    def on_event(self, event: MicroExpressionEvent) -> None:
        self.events.append(event)

    def on_status(self, message: StatusMessage) -> None:
        self.status.append(message)
        if message.level == "error":
            return                      # said once, in the run's last line (run_headless), with what it means
        if message.level != "info" or not self.quiet:
            write(f"[{message.level}] {message.text}")

    def on_finished(self) -> None:
        self.bar.close()


PARTIAL_MARK = "# partial: "   # the last line of a partial run's CSV (interrupted, input ended early); never complete


def partial_path(path: str | Path) -> Path:
    """Where an interrupted run, or one whose input ended early, writes what it has: beside `path`, named as
    partial (preds.csv -> preds.partial.csv), so an earlier complete file at `path` is left as it was and never
    mistaken for it."""
    path = Path(path)
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def write_windows_csv(path: str | Path, results: list[WindowResult], class_names: tuple[str, ...],
                      partial: str = "") -> None:
    """One row per window: times, spotting score, candidate flag, top class, confidence, per-class probs.
    `partial` (why the rows stop early) becomes a last line `# partial: ...`."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(WINDOW_COLUMNS + tuple(f"p_{name}" for name in class_names))
            for r in results:
                writer.writerow([r.window_index, f"{r.t_start:.4f}", f"{r.t_end:.4f}", f"{r.spot_score:.4f}",
                                 int(r.is_candidate), r.spot_state, r.top_class, f"{r.confidence:.4f}",
                                 *(f"{p:.4f}" for p in r.probs)])
            if partial:
                handle.write(f"{PARTIAL_MARK}{partial}\n")


def write_events_csv(path: str | Path, events: list[MicroExpressionEvent], partial: str = "") -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(EVENT_COLUMNS)
            for e in events:
                writer.writerow([f"{e.start:.4f}", f"{e.end:.4f}", e.kind, e.label, f"{e.confidence:.4f}",
                                 f"{e.peak_score:.2f}", f"{e.reported_at:.4f}"])
            if partial:
                handle.write(f"{PARTIAL_MARK}{partial}\n")


def watch_path(events_path: str | Path) -> Path:
    """The sidecar beside an events CSV that says how much of the face time the spotter watched."""
    path = Path(events_path)
    return path.with_name(f"{path.stem}.watch.json")


def write_watch_json(path: str | Path, watch: dict, partial: str = "") -> None:
    """Face frames per spotter state and their shares: an events file with no events means little when the
    spotter hardly watched (paused for head motion, settling after a new face)."""
    total = sum(watch.values())
    record = {"face_frames": total, "frames": {state: int(n) for state, n in watch.items()},
              "shares": {state: round(n / total, 4) for state, n in watch.items()} if total else {},
              "watched": round(watch.get("watching", 0) / total, 4) if total else None,
              "summary": format_watch(watch) or "the spotter saw no face frame"}
    if partial:
        record["partial"] = partial
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def format_events(events: list[MicroExpressionEvent], within: str = "") -> str:
    """The events as lines for stdout; `within` qualifies a partial run ("read 17 of 472 frames")."""
    scope = f" (partial input: {within})" if within else ""
    if not events:
        return f"no micro- or macro-expression events spotted{scope}"
    micro = sum(e.kind == "micro" for e in events)
    lines = [f"{micro} micro-expression event(s), {len(events) - micro} macro-expression event(s){scope}:"]
    for i, e in enumerate(events, 1):
        label = f"{e.label:<12s} confidence {e.confidence:.2f}" if e.label else f"{'-':<12s} {'':15s}"
        lines.append(f"  {i:3d}. {e.start:8.2f}-{e.end:8.2f} s  {e.kind:<5s}  {label}  peak score {e.peak_score:.1f}")
    return "\n".join(lines)


@dataclass(frozen=True)
class HeadlessOptions:
    """What a headless run reads and writes; how the engine works is its `EngineConfig`."""

    source: str | None = None       # camera index, video file, folder of frames or "synthetic"
    model: str | None = None        # exported .onnx file; None with demo: the shipped demo model
    demo: bool = False              # the demo: its stream (unless source is given) and its model
    out: str | None = None          # CSV, one row per window
    events: str | None = None       # CSV of the spotted events
    provider: str = "auto"          # ONNX Runtime provider (mer_live.runtime.PROVIDER_CHOICES)
    fps: float | None = None        # frame rate of a folder of frames
    quiet: bool = False             # no progress bar or info lines
    allow_partial: bool = False     # a source that ends early (truncated video, camera gone): --out, status 0


@dataclass(frozen=True)
class Coverage:
    """How much of the source a run read, and what that means for its results."""

    frames: int                     # frames read
    expected: int | None            # frames the source said it holds (None: a camera)
    windows: int                    # windows the source held (classified with --out, or not)
    source_error: str               # the engine's error (source not opened, stopped delivering), or ""

    @property
    def missing(self) -> int:
        return max(0, self.expected - self.frames) if self.expected is not None else 0

    @property
    def partial(self) -> bool:
        """Ended early: a read failure, or fewer frames than the source said (a truncated or damaged file)."""
        return self.frames > 0 and (bool(self.source_error) or self.missing > 0)

    def describe(self) -> str:
        if self.expected is not None:
            return f"read {self.frames} of {self.expected} frames"
        return f"read {self.frames} frames"


def run_headless(options: HeadlessOptions, config: EngineConfig | None = None) -> int:
    """Run the engine over a source; write the CSV(s); print the events. Returns the exit status.

    Raises for the command's handler (mer_live.cli_errors): SourceError (no --source, or one that names
    nothing), FileNotFoundError (no --model, or a missing one), ModelFileError (not a mer-live ONNX file),
    ProviderError, OSError (an output that cannot be written: checked before anything loads), PathClashError
    (an output that is the source, the model or the other output: it would be replaced). What the run
    itself finds:
    - nothing read (the source does not open) or no window classified: nothing is written, one line
      says why, status 5 (unreadable input) or 2 (too short, or no face);
    - the source ended early (a truncated video, a camera that stopped): what was read goes to
      `partial_path(out)` (and of events), marked `# partial: read N of M frames ...` in its last line, `out`
      and `events` are not touched, status 1; with `allow_partial` (the user accepts partial input) it goes to
      `out` and `events`, still marked, status 0;
    - Ctrl-C while frames are read: what was processed goes to `partial_path(out)` (and of events), whose
      last line says `# partial: interrupted after N windows ...`; `out` and `events` are not touched, so
      an earlier complete result there stays; status 130.
    """
    from mer_live.atomic import check_apart, check_writable
    from mer_live.cli_errors import EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_UNREADABLE_INPUT, EXIT_USAGE
    from mer_live.streaming import demo

    # stride windows are classified only for their CSV rows (--out); spotted events are classified in any case
    config = dataclasses.replace(config or EngineConfig(), classify_windows=bool(options.out))
    say = _Steps(quiet=options.quiet)
    model = options.model or (demo.demo_model_path() if options.demo else None)
    check_apart({"--out": options.out, "--events": options.events,
                 "the --events sidecar": watch_path(options.events) if options.events else None},
                {"--source": source_path(options.source), "--model": model})
    for output in (options.out, options.events):   # before the model loads and any frame is read
        if output:
            check_writable(output)
    if options.demo:
        print(demo.DEMO_NOTE, file=sys.stderr)
    source = _open_source(options, say)   # before the model: a wrong path is the error to show
    classifier = _load_classifier(options, say, config.batch)
    detector = _load_detector(say, config) if config.face == "detect" else None
    spec = classifier.spec
    say.line(f"model {classifier.path}: {spec.model} {spec.variant}, {spec.num_frames} frames {spec.image_size[0]}x"
             f"{spec.image_size[1]} {spec.feature}, classes {', '.join(spec.class_names)}; "
             f"provider {classifier.provider}")
    rate_note = use_model_rate(source, spec, options.fps)
    if rate_note:
        say.line(rate_note)
    say.line(f"ready after {say.summary()}; processing {source.name}{_whose_model(options, source)}")
    listener = HeadlessListener(total_frames=source.frame_count(), quiet=options.quiet)
    engine = Engine(source, classifier, config, listener, detector=detector)
    interrupted = False
    try:
        engine.run()
    except KeyboardInterrupt:
        interrupted = True
        listener.bar.close()
        if options.out or options.events:
            print("interrupted: writing what was processed so far to files named .partial, marked as partial "
                  "in their last line; the --out/--events files are left as they were", file=sys.stderr)
    stats = engine.stats()                  # the finished run's figures, read once
    coverage = Coverage(frames=listener.frames, expected=source.frame_count(),
                        windows=stats.extra["windows_made"],
                        source_error="; ".join(m.text for m in listener.status if m.level == "error"))
    if coverage.frames == 0 and not interrupted:
        reason = coverage.source_error or f"{getattr(source, 'name', options.source)} gave no frame"
        print(f"mer-live: error: {reason}; nothing was written", file=sys.stderr)
        return EXIT_UNREADABLE_INPUT
    if coverage.windows == 0 and not interrupted:
        print(f"mer-live: error: {coverage.describe()} but they made no window: "
              f"{no_window_reason(listener, config.clip_seconds or spec.clip_seconds)}"
              "; nothing was written", file=sys.stderr)
        return EXIT_USAGE
    ended = (" ".join((coverage.source_error or f"the source ended {coverage.missing} frames early "
                                                "(a truncated or damaged file?)").split())
             if coverage.partial else "")
    if interrupted:
        partial = f"interrupted after {len(listener.rows)} windows ({coverage.describe()}); not a complete result"
    elif coverage.partial:
        partial = f"{coverage.describe()}: {ended}; the rows cover only what was read"
    else:
        partial = ""
    # a partial result never replaces the file at --out/--events, unless the user accepted partial input
    aside = interrupted or (coverage.partial and not options.allow_partial)
    written = []
    if options.out:
        out = partial_path(options.out) if aside else Path(options.out)
        write_windows_csv(out, listener.rows, tuple(spec.class_names), partial)
        print(f"wrote {len(listener.rows)} window rows to {out}", file=sys.stderr)
        written.append(str(out))
    if options.events:
        events = partial_path(options.events) if aside else Path(options.events)
        write_events_csv(events, listener.events, partial)
        sidecar = watch_path(events)
        write_watch_json(sidecar, stats.watch, partial)
        print(f"wrote {len(listener.events)} events to {events} (what the spotter watched: {sidecar})", file=sys.stderr)
        written.append(str(events))
    print(format_events(listener.events, within=coverage.describe() if coverage.partial else ""))
    watched = format_watch(stats.watch)
    if watched:
        print(watched)
    truth = getattr(source, "truth_events", None)
    if truth:   # the demo and `--source synthetic` know what they painted: judge the events against it
        label = "demo ground truth" if options.demo else "stream ground truth"
        print(f"{label}: " + "; ".join(f"{s:.2f}-{e:.2f} s {name}" for s, e, name in truth))
    say.line(format_summary(stats, windows_asked=bool(options.out)))
    if interrupted:
        return EXIT_INTERRUPTED
    if coverage.partial:
        if options.allow_partial:
            print(f"mer-live: warning: {coverage.describe()}: {ended}; the results above cover what was read "
                  "(--allow-partial)", file=sys.stderr)
            return 0
        kept = (f" (they went to {' and '.join(written)}, marked partial; "
                f"{' and '.join(str(o) for o in (options.out, options.events) if o)} not touched)" if written else "")
        print(f"mer-live: error: {coverage.describe()}: {ended}; the results above cover only what was read{kept}. "
              "Repair or re-encode the source, or pass --allow-partial to accept partial input", file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0


WATCH_WORDS = {"settling": "settling after a new face, box or pause", "paused-motion": "paused for fast head motion",
               "paused-registration": "paused: the head's motion could not be undone"}


def format_watch(watch: dict) -> str:
    """How much of the face time the spotter watched: "no events" means little when it hardly did."""
    total = sum(watch.values())
    if not total:
        return ""
    share = {state: n / total for state, n in watch.items()}
    rest = "; ".join(f"{WATCH_WORDS[s]} {share[s]:.0%}" for s in WATCH_WORDS if watch.get(s))
    return (f"the spotter watched {share.get('watching', 0.0):.0%} of {total} face frames"
            + (f" ({rest})" if rest else ""))


def format_summary(stats, windows_asked: bool) -> str:
    """The run's last line: what was classified, event clips and stride windows apart (a run without --out
    classifies only the events' clips, and "0 windows classified" after six labelled events reads as a bug)."""
    def count(n: int, noun: str) -> str:
        return f"{n} {noun}{'' if n == 1 else 's'}"

    if windows_asked:
        windows = f"{count(stats.windows, 'stride window')} ({stats.inference_rate:.1f} per second)"
    else:
        windows = f"{count(stats.windows, 'stride window')} (stride windows are classified only with --out)"
    return (f"{count(stats.frames, 'frame')}; classified {count(stats.event_clips, 'event clip')} and {windows}; "
            f"provider {stats.provider}{_flow_note(stats)}; stages {format_stages(stats.stages)}")


def _flow_note(stats) -> str:
    flow = stats.extra.get("flow") if isinstance(stats.extra, dict) else None
    return f", flow {flow}" if flow else ""


def no_window_reason(listener: HeadlessListener, seconds: float) -> str:
    """Why a run that read frames classified none: no face, or a source shorter than one window."""
    if listener.faces == 0:
        return "no face was found in any frame (frames that are already face crops need --face full)"
    return (f"the source is shorter than one window ({seconds:.2f} s of face frames, at least 3 frames, are needed "
            "for the first one); give a longer source, or a shorter --clip-seconds")


class _Steps:
    """Names each slow start-up step as it begins (stderr) and keeps its duration for one summary line."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.seconds: dict[str, float] = {}

    def line(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def run(self, name: str, announce: str, work):
        self.line(announce)
        start = time.perf_counter()
        result = work()
        self.seconds[name] = time.perf_counter() - start
        return result

    def summary(self) -> str:
        total = sum(self.seconds.values())
        parts = ", ".join(f"{name} {s:.1f} s" for name, s in self.seconds.items())
        return f"{total:.1f} s ({parts})" if parts else f"{total:.1f} s"


def _open_source(options: HeadlessOptions, say: _Steps) -> FrameSource:
    from mer_live.streaming import demo

    if options.demo and options.source in (None, "synthetic", "demo"):
        return say.run("demo stream", "rendering the demo stream (synthetic)...",
                       lambda: demo.demo_source(realtime=False))
    if options.source is None:
        raise SourceError("--source is required: a camera index, a video file, a folder of frames or 'synthetic'")
    if str(options.source).strip().lower() in ("synthetic", "demo"):
        source = say.run("synthetic stream", "rendering the synthetic stream...",
                         lambda: open_source(options.source, realtime=False))
        source.name = "the synthetic stream"   # the demo's stream, but this is not the demo: not "demo stream"
        return source
    return open_source(options.source, realtime=False, fps=options.fps)


def _whose_model(options: HeadlessOptions, source: FrameSource) -> str:
    """On the synthetic stream, whose model runs: the demo's, or the user's own (--model), said apart."""
    if getattr(source, "truth_events", None) is None:
        return ""
    return f" with your model {Path(options.model).name}" if options.model else " with the demo model"


def _load_classifier(options: HeadlessOptions, say: _Steps, batch: int):
    from mer_live.runtime import OnnxClassifier
    from mer_live.streaming import demo

    model_path = options.model or (demo.demo_model_path() if options.demo else None)
    if model_path is None:
        raise FileNotFoundError("--model is required (an .onnx file written by mer-export); or try --demo")
    return say.run("model", "loading the model (first ONNX Runtime session)...",
                   lambda: OnnxClassifier(model_path, provider=options.provider, batch_size=batch))


def _load_detector(say: _Steps, config: EngineConfig):
    """MTCNN loaded and run once now, not on the first frame (importing PyTorch is most of a cold start)."""
    def load():
        from mer_live.streaming.detection import load_detector

        detector = load_detector(config.detection)
        detector.detect(np.zeros((160, 160, 3), np.uint8))
        return detector

    return say.run("face detector", "loading the face detector (MTCNN on PyTorch; slowest on a first run)...", load)
