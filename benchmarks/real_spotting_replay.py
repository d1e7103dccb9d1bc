"""Fast tuning loop for the region spotter on the real-video benchmark: record once, replay many settings.

    python benchmarks/real_spotting_replay.py record --split tune --seeds 20-24 [--cache DIR]
    python benchmarks/real_spotting_replay.py replay --split tune [--set threshold=5 --set size=96 ...]
    python benchmarks/real_spotting_replay.py snr --split tune [--set size=128]
    python benchmarks/real_spotting_replay.py bound --split tune [--set size=128]

`record` runs bench_real_spotting's pasted and clean streams through the live engine once (MTCNN, the face
tracker, the default spotter) and keeps what the engine handed the spotter: every frame's gray face crop at
RECORD_SIZE px, the landmarks, the box changes (resets) and the end of the stream. `replay` feeds those calls
to a RegionSpotter with other settings (a size up to RECORD_SIZE) and scores it as bench_real_spotting does
(micro recall at IoU >= 0.5, false micro events per minute with and without the pasted motions, share of face
frames watched). `snr` splits what the spotter measures over `lag_s` in the pasted motions' regions into
the motion itself (pasted run less clean run: same video, same camera noise), the face's own motion (clean
run, frames away from any pasted motion) and the measurement's noise (two clean runs with other camera
noise): the figures that say whether a better measurement or a better decision is what is missing.
A replayed run differs from a live one only where other settings would have moved the
tracker's box (the box holds while the spotter has motion open): the figures that count are
bench_real_spotting's own; this is for trying settings quickly, on the tuning split only.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_real_spotting as bench  # noqa: E402
from bench_distractors import matches, seed_list  # noqa: E402
from mer_live.streaming import engine as engine_module  # noqa: E402
from mer_live.streaming.face_motion import normalised_gray  # noqa: E402
from mer_live.streaming.spotting import RegionSpotter, SpotterConfig  # noqa: E402

RECORD_SIZE = 192
CACHE = Path("/tmp/mer_live_spot_replay")


class RecordingSpotter:
    """Stands in for the engine's RegionSpotter: takes its calls at RECORD_SIZE, keeps them, and passes
    them on (scaled) to a default spotter, so the engine behaves as it does live."""

    def __init__(self, config: SpotterConfig):
        self.inner = RegionSpotter(config)
        self.config = dataclasses.replace(config, size=RECORD_SIZE)
        self.calls: list[tuple] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def push(self, t, gray):
        self.calls.append(("push", t, gray.copy()))
        return self.inner.push(t, normalised_gray(gray, self.inner.config.size))

    def set_landmarks(self, points):
        self.calls.append(("landmarks", None if points is None else np.asarray(points, np.float64).copy()))
        scale = self.inner.config.size / RECORD_SIZE
        return self.inner.set_landmarks(None if points is None else np.asarray(points) * scale)

    def reset(self, keep_baseline=False):
        self.calls.append(("reset", keep_baseline))
        return self.inner.reset(keep_baseline)

    def flush(self, t):
        self.calls.append(("flush", t))
        return self.inner.flush(t)


def recorded_calls(run) -> list[tuple]:
    """The calls an engine made to its spotter while `run()` built and ran it (the engine module's
    RegionSpotter is a RecordingSpotter meanwhile, and is put back after)."""
    made: list[RecordingSpotter] = []
    original = engine_module.RegionSpotter
    engine_module.RegionSpotter = lambda cfg: made.append(RecordingSpotter(cfg)) or made[-1]
    try:
        run()
    finally:
        engine_module.RegionSpotter = original
    return made[0].calls


def recording_detector(**kwargs):
    """MTCNN as the records are taken: on one torch thread, so a record does not depend on the machine."""
    import torch

    from mer_live.face import FaceDetector
    torch.set_num_threads(1)
    return FaceDetector(**kwargs)


def save_rows(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(rows, f)
    print(f"cache: {path}")


def load_rows(parser: argparse.ArgumentParser, path: Path, how: str) -> list[dict]:
    """The recorded rows at `path`; a parser error naming `how` to record them when there are none."""
    if not path.is_file():
        parser.error(f"no record at {path}: run `record` with the same {how} first")
    with open(path, "rb") as f:
        return pickle.load(f)


def record(name: str, path: Path, seed: int, detector, points, fps, amplitude) -> dict:
    video_seed, _, motions, _ = bench.draw_for_video(name, seed, points, fps, amplitude)
    runs = {kind: recorded_calls(lambda pasted=pasted: bench.run_engine(
                bench.PastedSource(path, points, pasted, video_seed), detector))
            for kind, pasted in (("pasted", motions), ("clean", []))}
    return {"video": name, "seed": seed, "seconds": len(points) / fps,
            "face_frames": int((~np.isnan(points).any(axis=(1, 2))).sum()),
            "truth": [m.interval for m in motions], "motions": [m.to_dict() for m in motions], "runs": runs}


def feed(calls, config: SpotterConfig):
    """Feed the recorded calls to a new spotter with `config`; yield (the call, the spotter, the segments it
    returned) after each one."""
    spotter = RegionSpotter(config)
    scale = config.size / RECORD_SIZE
    for call in calls:
        segments = []
        if call[0] == "push":
            segments = spotter.push(call[1], call[2] if config.size == RECORD_SIZE
                                    else normalised_gray(call[2], config.size))
        elif call[0] == "landmarks":
            spotter.set_landmarks(None if call[1] is None else call[1] * scale)
        elif call[0] == "reset":
            spotter.reset(call[1])
        else:
            segments = spotter.flush(call[1])
        yield call, spotter, segments


def replay_calls(calls, config: SpotterConfig):
    """(segments, state counts) of a spotter with `config` fed the recorded calls."""
    segments, states = [], collections.Counter()
    for call, spotter, decided in feed(calls, config):
        segments += decided
        if call[0] == "push":
            states[spotter.state] += 1
    return segments, states


def false_micro(segments, spans) -> list:
    """The micro segments that overlap none of `spans` (the pasted motions and a joined clip's cuts)."""
    return [s for s in segments if s.kind == "micro" and not any(bench.overlaps((s.start, s.end), t) for t in spans)]


def score(rows: list[dict], config: SpotterConfig, verbose: bool = False) -> dict:
    found = n = false = clean_false = watched = face = 0
    seconds = 0.0
    for row in rows:
        segments, states = replay_calls(row["runs"]["pasted"], config)
        micro = [(s.start, s.end) for s in segments if s.kind == "micro"]
        truth = row["truth"]
        cuts = bench.cut_spans(row["video"], row["seconds"])          # a joined clip's cuts are not counted
        hit = {j for _, j in matches(micro, truth)}
        found += len(hit)
        n += len(truth)
        clean, _ = replay_calls(row["runs"]["clean"], config)
        wrong = {"pasted": false_micro(segments, truth + cuts), "clean": false_micro(clean, cuts)}
        false += len(wrong["pasted"])
        clean_false += len(wrong["clean"])
        watched += states["watching"]
        face += row["face_frames"]
        seconds += row["seconds"]
        if verbose:
            for j, (m, t) in enumerate(zip(row["motions"], truth)):
                over = [s for s in segments if bench.overlaps((s.start, s.end), t)]
                best = max(over, key=lambda s: s.peak_score, default=None)
                seen = "-" if best is None else (f"{best.kind} {best.start:.2f}-{best.end:.2f} z {best.peak_score:.1f}"
                                                 f" {best.region} {best.detail.get('lead')}")
                print(f"  {row['video']:13s} s{row['seed']} {t[0]:6.2f}-{t[1]:6.2f} {m['site']:13s} {m['action']:8s}"
                      f" {m['amplitude_px']:.1f}px {'FOUND' if j in hit else '     '} {seen}")
            for run, segs in wrong.items():
                for s in segs:
                    print(f"  {row['video']:13s} s{row['seed']} false micro ({run} run) {s.start:6.2f}-{s.end:6.2f}"
                          f" z {s.peak_score:.1f} {s.region}")
    minutes = seconds / 60
    return {"recall": found / n if n else 0.0, "found": found, "motions": n, "false_per_min": false / minutes,
            "clean_false_per_min": clean_false / minutes, "watched": watched / face if face else 0.0}


SITE_GROUP = {"brows": "brows", "eye_corners": "eyes", "nose_wings": "nose", "mouth_corners": "mouth"}


def lag_changes(calls, config: SpotterConfig) -> dict[float, np.ndarray]:
    """Each frame's region motion over `lag_s` (R, 2), in pixels of a 64-px crop, by stream time."""
    out = {}
    for call, spotter, _ in feed(calls, config):
        if call[0] == "push":
            lagged = spotter._index_before(call[1] - config.lag_s)
            if lagged is not None and len(spotter._shifts) > 1:
                out[round(call[1], 4)] = spotter._shifts[-1] - spotter._shifts[lagged]
    return out


def snr(rows: list[dict], config: SpotterConfig) -> dict:
    """The pasted motions' signal against the face's own motion and the measurement's noise (see above)."""
    from mer_live.streaming.spotting import GROUP_MEMBERS
    signal, face, clean = [], [], {}
    for row in rows:
        pasted = lag_changes(row["runs"]["pasted"], config)
        clean[id(row)] = lag_changes(row["runs"]["clean"], config)
        quiet = clean[id(row)]
        for t, change in quiet.items():
            if not any(on - 0.1 <= t <= off + 0.2 for on, off in row["truth"]):
                face.append(np.hypot(*change.T))
        for motion, (on, off) in zip(row["motions"], row["truth"]):
            members = GROUP_MEMBERS[SITE_GROUP[motion["site"]]]
            diffs = [np.hypot(*(pasted[t][members] - quiet[t][members]).T).max()
                     for t in pasted if t in quiet and on <= t <= off]
            if diffs:
                signal.append(max(diffs))
    noise = []
    by_video = collections.defaultdict(list)
    for row in rows:
        by_video[row["video"]].append(row)
    for same in by_video.values():
        for a, b in zip(same, same[1:]):
            first, second = clean[id(a)], clean[id(b)]
            noise += [np.hypot(*(first[t] - second[t]).T) / np.sqrt(2) for t in first if t in second]
    face_motion, noise = np.concatenate(face), np.concatenate(noise) if noise else np.zeros(1)
    return {"signal_median": float(np.median(signal)), "signal_p90": float(np.percentile(signal, 90)),
            "face_median": float(np.median(face_motion)), "face_p90": float(np.percentile(face_motion, 90)),
            "face_mad": float(np.median(np.abs(face_motion - np.median(face_motion)))),
            "noise_median": float(np.median(noise)), "noise_p90": float(np.percentile(noise, 90))}


BOUND_THRESHOLDS = (3.0, 4.5, 6.0, 8.0, 10.0, 12.0, 15.0)


def group_motion(calls, config: SpotterConfig) -> tuple[np.ndarray, np.ndarray]:
    """(times (T,), each group's robust z (T, G)) of a spotter with `config` fed the recorded calls, on the
    frames where it had a noise level (the z it compares with `open_threshold`)."""
    times, z = [], []
    for call, spotter, _ in feed(calls, config):
        if call[0] == "push" and spotter.state == "watching":
            times.append(call[1])
            z.append(spotter.group_activity.copy())
    return np.asarray(times), np.asarray(z).reshape(len(z), -1)


def episodes(times: np.ndarray, gap_s: float) -> list[tuple[float, float]]:
    """The times split where they are more than `gap_s` apart: (first, last) of each run."""
    runs: list[list[float]] = []
    for t in times:
        if runs and t - runs[-1][1] <= gap_s:
            runs[-1][1] = t
        else:
            runs.append([t, t])
    return [(a, b) for a, b in runs]


def bound(rows: list[dict], config: SpotterConfig, verbose: bool = False) -> dict[str, list[dict]]:
    """For each z in BOUND_THRESHOLDS: the share of pasted motions whose own group passes z within the
    motion, and how often per minute the clean runs rise above z (a rise ends after `quiet_s` below it, as
    a burst does): under "any", any group's rise against every motion; under each group's name, that
    group's own rises against the motions at its sites (an oracle that also knew which group to watch)."""
    from mer_live.streaming.spotting import REGION_GROUPS
    peaks: dict[str, list[float]] = {g: [] for g in REGION_GROUPS}
    crossings = {g: np.zeros(len(BOUND_THRESHOLDS)) for g in ("any", *REGION_GROUPS)}
    seconds = 0.0
    for row in rows:
        times, z = group_motion(row["runs"]["pasted"], config)
        for motion, (on, off) in zip(row["motions"], row["truth"]):
            inside = (times >= on) & (times <= off + config.lag_s)
            group = SITE_GROUP[motion["site"]]
            peak = float(z[inside, REGION_GROUPS.index(group)].max()) if inside.any() else -np.inf
            peaks[group].append(peak)
            if verbose:
                print(f"  {row['video']:16s} s{row['seed']} {on:6.2f}-{off:6.2f} {motion['site']:13s} "
                      f"{motion['amplitude_px']:.1f} px: its group's peak z {peak:.1f}")
        clean_times, clean = group_motion(row["runs"]["clean"], config)
        for k, level in enumerate(BOUND_THRESHOLDS):
            above = clean > level
            crossings["any"][k] += len(episodes(clean_times[above.any(axis=1)], config.quiet_s))
            for g, group in enumerate(REGION_GROUPS):
                crossings[group][k] += len(episodes(clean_times[above[:, g]], config.quiet_s))
        seconds += row["seconds"]
    minutes = seconds / 60
    by_group = {"any": np.concatenate([np.asarray(p) for p in peaks.values()])} | {
        g: np.asarray(p) for g, p in peaks.items()}
    return {g: [{"z": level, "motions": len(p), "recall": float((p > level).mean()) if len(p) else 0.0,
                 "crossings_per_min": float(crossings[g][k] / minutes)}
                for k, level in enumerate(BOUND_THRESHOLDS)] for g, p in by_group.items()}


def cache_file(cache: Path, split: str, seeds: str) -> Path:
    return cache / f"{split}_{seeds}.pkl"


def parse_value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def settings(parser: argparse.ArgumentParser, items: list[str]) -> tuple[dict, SpotterConfig]:
    """The --set items as overrides and the SpotterConfig they make (a parser error, not a traceback, for a
    setting SpotterConfig does not have or refuses)."""
    overrides = {key: parse_value(value) for key, _, value in (item.partition("=") for item in items)}
    try:
        return overrides, SpotterConfig(**overrides)
    except (TypeError, ValueError) as e:
        parser.error(f"--set {' '.join(items)}: {e}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("record", "replay", "snr", "bound"))
    parser.add_argument("--split", choices=("tune", "judge", "all"), default="tune")
    parser.add_argument("--seeds", default="20-24")
    parser.add_argument("--amplitude", default="1.5-3")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--set", action="append", default=[], help="a spotter setting, e.g. threshold=5")
    parser.add_argument("-v", "--verbose", action="store_true", help="each motion and what was seen over it (bound: its peak z)")
    args = parser.parse_args(argv)
    path = cache_file(args.cache, args.split, args.seeds)
    if args.action == "record":
        detector = recording_detector(min_face_size=32)
        low, _, high = args.amplitude.partition("-")
        amplitude = (float(low), float(high or low))
        rows = []
        for name, (file, split) in bench.VIDEOS.items():
            if args.split not in (split, "all"):
                continue
            points, fps = bench.landmarks(bench.DATA / file, detector)
            for seed in seed_list(args.seeds):
                rows.append(record(name, bench.DATA / file, seed, detector, points, fps, amplitude))
                print(f"recorded {name} seed {seed}: {len(rows[-1]['truth'])} motions", flush=True)
        save_rows(rows, path)
        return 0
    rows = load_rows(parser, path, "--split, --seeds and --cache")
    overrides, config = settings(parser, args.set)
    started = time.perf_counter()
    if args.action == "snr":
        r = snr(rows, config)
        print(f"{overrides or 'defaults'}: over lag_s, pixels of a 64-px crop: pasted motion median {r['signal_median']:.3f}"
              f" (p90 {r['signal_p90']:.3f}); the face's own motion median {r['face_median']:.3f} (MAD "
              f"{r['face_mad']:.3f}, p90 {r['face_p90']:.3f}); measurement noise median {r['noise_median']:.3f} "
              f"(p90 {r['noise_p90']:.3f})  [{time.perf_counter() - started:.0f} s]")
        return 0
    if args.action == "bound":
        print(f"{overrides or 'defaults'}: an oracle that knows each motion's site and time, on the spotter's own z "
              f"({len(rows)} streams)")
        found = bound(rows, config, args.verbose)
        for r in found.pop("any"):
            print(f"  z > {r['z']:4.1f}: motions passing {r['recall']:.2f}, the clean faces' own crossings "
                  f"{r['crossings_per_min']:.1f}/min")
        print("knowing the group too: motions passing @ that group's own crossings per minute")
        for group, levels in found.items():
            print(f"  {group:6s} ({levels[0]['motions']:3d} motions) " + "  ".join(
                f"z>{r['z']:g}: {r['recall']:.2f}@{r['crossings_per_min']:.1f}" for r in levels))
        print(f"[{time.perf_counter() - started:.0f} s]")
        return 0
    result = score(rows, config, args.verbose)
    print(f"{overrides or 'defaults'}: recall {result['recall']:.2f} ({result['found']}/{result['motions']}), "
          f"false {result['false_per_min']:.1f}/min, clean {result['clean_false_per_min']:.1f}/min, "
          f"watched {result['watched']:.2f}  [{time.perf_counter() - started:.0f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
