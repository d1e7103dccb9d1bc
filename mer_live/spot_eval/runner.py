"""Run the live streaming engine over each long video, causally and one video at a time, and keep each
video's result as soon as it finishes.

The engine is the one `mer-live` runs (`Engine(source, classifier, config).run()`): it sees one frame after
another with the video's timestamps and never looks ahead. Each finished video is written atomically to
`OUT/videos/<video>.json` (its annotations, its events with their frame intervals and report times, the
engine's warnings), so an interrupted run loses at most the video it was on, and the same command resumes.
`OUT/run.json` holds the settings: resuming with other settings is refused rather than mixed.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from mer_live.atomic import write_text_atomic
from mer_live.progress import progress, write
from mer_live.spot_eval.records import LongVideo
from mer_live.spot_eval.source import LongVideoSource
from mer_live.streaming.engine import Engine, EngineConfig

RESULTS_DIR = "videos"
RUN_FILE = "run.json"


class RunConflict(ValueError):
    """The output folder holds a run with other settings; the message says which and what to do."""


def safe_name(video_id: str) -> str:
    """A file name for a video id: "s15/15_0101x" -> "s15__15_0101x"."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", video_id.replace("/", "__"))


def result_path(out_dir: Path, video_id: str) -> Path:
    return Path(out_dir) / RESULTS_DIR / f"{safe_name(video_id)}.json"


def engine_settings(config: EngineConfig) -> dict:
    """The engine's configuration as plain JSON values (nested dataclasses included)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def check_run_settings(out_dir: Path, settings: dict) -> None:
    """Write OUT/run.json for a new run; for an existing one, refuse other settings (RunConflict)."""
    path = Path(out_dir) / RUN_FILE
    if path.is_file():
        try:
            before = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunConflict(f"{path} is unreadable ({exc}); delete {out_dir} or give another --out") from exc
        changed = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
        if changed:
            raise RunConflict(f"--out {out_dir} holds a run with other settings ({', '.join(changed)} differ); give "
                              f"another --out, or delete {out_dir} to start over")
        return
    write_text_atomic(path, json.dumps(settings, indent=2, sort_keys=True))


# ------------------------------------------------------------------------------------------- the engine

class WindowShapeOnly:
    """A stand-in classifier for the spotter that scores the model's windows (EngineConfig.legacy(),
    mer-live's first engine): it carries a model's spec (which shapes the windows and their flow: frames,
    size, features, clip length) and predicts nothing (one class named "", probability 1). That spotter does
    not read the probabilities, so the events are those the spec's model would give, without a label."""

    provider = "none (spot only)"

    def __init__(self, spec):
        self.spec = dataclasses.replace(spec, class_names=("",))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.ones((len(x), 1), np.float32)


def demo_window_shape() -> WindowShapeOnly:
    """The shipped demo model's window shape, without its classes."""
    from mer_live.onnx_metadata import read_metadata
    from mer_live.streaming.demo import demo_model_path

    return WindowShapeOnly(read_metadata(demo_model_path()))


def spot_only_classifier(config: EngineConfig | None = None):
    """What to give the engine when no model is given: None (the region spotter needs no classifier,
    shared contract 2), or the demo model's window shape for the window-scoring EngineConfig.legacy()."""
    from mer_live.streaming.legacy_spotting import LegacySpotterConfig

    if config is not None and isinstance(config.spotter, LegacySpotterConfig):
        return demo_window_shape()
    return None


def describe_classifier(classifier) -> str:
    if classifier is None:
        return "spot only (no model: the engine spots without classifying)"
    if isinstance(classifier, WindowShapeOnly):
        s = classifier.spec
        return (f"spot only (no model; this spotter scores model windows, so they take the shipped demo model's "
                f"shape: {s.num_frames} frames, {s.image_size[0]} px, {s.feature}, {s.clip_seconds} s; no class "
                f"is predicted)")
    s = classifier.spec
    return f"{s.model} {s.variant} ({', '.join(s.class_names)}), provider {getattr(classifier, 'provider', '?')}"


class _Collector:
    """Listener (the engine calls only what a listener defines): events with the stream time they were
    emitted at, warnings and errors, and the frame bar."""

    def __init__(self, bar):
        self.bar = bar
        self.events: list[tuple[object, float]] = []
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self.last_t = 0.0

    def on_frame(self, info) -> None:
        self.last_t = info.timestamp
        self.bar.update(1)

    def on_event(self, event) -> None:
        self.events.append((event, self.last_t))

    def on_status(self, message) -> None:
        if message.level == "error":
            self.errors.append(message.text)
        elif message.level == "warning":
            self.warnings.append(message.text)


def event_record(event, seen_at: float, video: LongVideo) -> dict:
    """One spotted event in stream seconds and in the video's frame numbers.

    An event spans [start, end) in stream time, `end` one frame period after its last frame (the engine's
    convention), so its frames run from the one nearest `start` to the one nearest `end` - 1 / fps. `kind`
    and `reported_at` come from the engine (shared contract 1); without them (an older engine, or an event
    not stamped) it is a micro-expression reported when the stream had reached `seen_at`.
    """
    start, end = float(event.start), float(event.end)
    onset = video.number_at(start)
    offset = max(onset, video.number_at(end - 1.0 / video.fps))
    reported_at = float(getattr(event, "reported_at", math.nan))
    return {"start_s": start, "end_s": end, "onset": onset, "offset": offset,
            "kind": getattr(event, "kind", "micro"), "label": str(getattr(event, "label", "")),
            "confidence": float(getattr(event, "confidence", 0.0)),
            "peak_score": float(getattr(event, "peak_score", 0.0)),
            "reported_at_s": seen_at if math.isnan(reported_at) else reported_at}


def _plain(stages: dict) -> dict:
    """Per-stage timings (dataclasses) as JSON values."""
    return {name: dataclasses.asdict(t) if dataclasses.is_dataclass(t) else t for name, t in stages.items()}


def video_result(video: LongVideo, events: Sequence[dict], stats, warnings: list[str], errors: list[str],
                 wall_s: float, unreadable: Sequence[str] = ()) -> dict:
    """The JSON record of one finished video (what the report is rebuilt from); `unreadable`: the frames
    that could not be read and were skipped (counted, and the first few named)."""
    def interval(i):
        return {"onset": i.onset, "offset": i.offset, "kind": i.kind, "apex": i.apex, "filled": list(i.filled),
                "onset_s": video.time_of(i.onset), "offset_s": video.time_of(i.offset)}

    return {"video_id": video.video_id, "dataset": video.dataset, "subject": video.subject, "fps": video.fps,
            "frames": len(video.frames), "first": video.first, "last": video.last, "duration_s": video.duration_s,
            "annotations": [interval(i) for i in video.intervals], "blinks": [interval(i) for i in video.blinks],
            "events": list(events),
            "engine": {"frames": stats.frames, "windows": stats.windows,
                       "reanchors": stats.extra.get("reanchors", 0), "detections": stats.extra.get("detections"),
                       "stages": _plain(getattr(stats, "stages", {})), "warnings": warnings[:20],
                       "warning_count": len(warnings), "errors": errors,
                       "unreadable_frames": len(unreadable), "unreadable_examples": list(unreadable[:5]),
                       "watch": dict(getattr(stats, "watch", {}))},
            "wall_s": wall_s}


def run_video(video: LongVideo, classifier, config: EngineConfig, bar, source: LongVideoSource | None = None) -> dict:
    """One video through the engine, synchronously; its result record. `source`: the video's frames when
    they are not to be read from disk again (calibration keeps them for its grid points)."""
    collector = _Collector(bar)
    source = LongVideoSource(video) if source is None else source
    engine = Engine(source, classifier, config, collector)
    started = time.perf_counter()
    engine.run()
    wall = time.perf_counter() - started
    events = [event_record(e, seen_at, video) for e, seen_at in collector.events]
    return video_result(video, events, engine.stats(), collector.warnings, collector.errors, wall, source.unreadable)


def unreadable_frames(result: dict) -> int:
    """Frames of a video's result that could not be read and were skipped (0 in results of an older mer-spot,
    which did not count them)."""
    return int(result["engine"].get("unreadable_frames", 0))


def describe_unreadable(result: dict) -> str:
    """"3 unreadable frames skipped (first: .../img012.jpg)" for a video's result, or ""."""
    count = unreadable_frames(result)
    if not count:
        return ""
    first = result["engine"].get("unreadable_examples") or ["?"]
    return f"{count} unreadable frame{'' if count == 1 else 's'} skipped (first: {first[0]})"


def run_videos(videos: Sequence[LongVideo], out_dir: Path, classifier, config: EngineConfig,
               quiet: bool = False, on_done=None) -> list[dict]:
    """Run every video that has no result yet in `out_dir`; write each result as it finishes.

    Returns all results of `videos` (finished earlier or now), in the order given. `on_done(result)` is
    called after each new result is written (the runner's caller draws its timeline there).
    """
    out_dir = Path(out_dir)
    pending = [v for v in videos if not result_path(out_dir, v.video_id).is_file()]
    if len(pending) < len(videos) and not quiet:
        write(f"mer-spot: {len(videos) - len(pending)} of {len(videos)} videos already done in {out_dir}; "
              f"running the other {len(pending)}")
    bar = progress(total=sum(len(v.frames) for v in pending), unit="frame", desc="mer-spot", disable=quiet)
    try:
        for number, video in enumerate(pending, 1):
            bar.set_postfix_str(f"video {number}/{len(pending)} {video.video_id}")
            result = run_video(video, classifier, config, bar)
            write_text_atomic(result_path(out_dir, video.video_id), json.dumps(result, indent=1))
            for message in result["engine"]["errors"]:
                write(f"mer-spot: {video.video_id}: error: {message}")
            if unreadable_frames(result):
                write(f"mer-spot: {video.video_id}: warning: {describe_unreadable(result)}; the video is scored "
                      "without them")
            if on_done is not None:
                on_done(result)
    finally:
        bar.close()
    return [load_result(out_dir, v.video_id) for v in videos]


def load_result(out_dir: Path, video_id: str) -> dict:
    return json.loads(result_path(out_dir, video_id).read_text(encoding="utf-8"))
