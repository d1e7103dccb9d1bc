"""Fast tuning loop for the region spotter on the synthetic development streams: record once, replay many settings.

    python benchmarks/distractor_replay.py record [--seeds 100-104] [--sway 6] [--cache DIR]
    python benchmarks/distractor_replay.py replay [--seeds 100-104] [--sway 6] [--set threshold=5 ...] [-v]

`record` runs bench_distractors' streams (40 s each) through the live engine once, spot only, and keeps what
the engine handed the spotter (real_spotting_replay's RecordingSpotter); `replay` feeds those calls to a
RegionSpotter with other settings and scores it as bench_distractors does (micro and macro F1, IoU >= 0.5,
one to one, pooled). `-v` prints each missed micro-expression with the segments the spotter decided over it,
and each false micro event. Settings are chosen on the development seeds only; bench_distractors on the
held-out seeds (105-109) is the figure that counts.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_distractors import matches, seed_list  # noqa: E402
from real_spotting_replay import (CACHE, load_rows, recorded_calls, recording_detector, replay_calls,  # noqa: E402
                                  save_rows, settings)
from mer_live.streaming.spotting import SpotterConfig  # noqa: E402


def record(seed: int, sway: float, detector) -> dict:
    from mer_live.streaming.engine import Engine, EngineConfig
    from mer_live.streaming.sources import ArraySource
    from mer_live.synthetic.distractors import make_distractor_stream

    stream = make_distractor_stream(seed, duration_s=40.0, sway_px=sway)
    calls = recorded_calls(lambda: Engine(ArraySource(stream.frames, fps=stream.fps), None, EngineConfig(),
                                          detector=detector).run())
    return {"seed": seed, "micro": list(stream.micro), "macro": list(stream.macro), "calls": calls}


def score(rows: list[dict], config: SpotterConfig, verbose: bool = False) -> dict:
    counts = dict.fromkeys(("micro_tp", "micro_n", "micro_truth", "macro_tp", "macro_n", "macro_truth"), 0)
    for row in rows:
        segments, _ = replay_calls(row["calls"], config)
        micro = [s for s in segments if s.kind == "micro"]
        macro = [(s.start, s.end) for s in segments if s.kind == "macro"]
        found = matches([(s.start, s.end) for s in micro], row["micro"])
        counts["micro_tp"] += len(found)
        counts["micro_n"] += len(micro)
        counts["micro_truth"] += len(row["micro"])
        counts["macro_tp"] += len(matches(macro, row["macro"]))
        counts["macro_n"] += len(macro)
        counts["macro_truth"] += len(row["macro"])
        if verbose:
            hit, used = {j for _, j in found}, {i for i, _ in found}
            for j, (on, off) in enumerate(row["micro"]):
                if j not in hit:
                    over = [s for s in segments if s.start < off and s.end > on]
                    print(f"  seed {row['seed']} missed {on:6.2f}-{off:6.2f}: " + ("; ".join(
                        f"{s.kind} {s.start:.2f}-{s.end:.2f} z {s.peak_score:.1f} {s.region}" for s in over)
                        or "no segment"))
            for i, s in enumerate(micro):
                if i not in used:
                    print(f"  seed {row['seed']} false micro {s.start:6.2f}-{s.end:6.2f} z {s.peak_score:.1f} {s.region}")
    c = counts
    return {"micro_f1": 2 * c["micro_tp"] / max(c["micro_n"] + c["micro_truth"], 1),
            "precision": c["micro_tp"] / max(c["micro_n"], 1), "recall": c["micro_tp"] / max(c["micro_truth"], 1),
            "macro_f1": 2 * c["macro_tp"] / max(c["macro_n"] + c["macro_truth"], 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("record", "replay"))
    parser.add_argument("--seeds", default="100-104")
    parser.add_argument("--sway", type=float, default=0.0, help="as bench_distractors --sway")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--set", action="append", default=[], help="a spotter setting, e.g. threshold=5")
    parser.add_argument("-v", "--verbose", action="store_true", help="each miss and false micro event")
    args = parser.parse_args(argv)
    path = args.cache / f"distractors_{args.seeds}_sway{args.sway:g}.pkl"
    if args.action == "record":
        detector = recording_detector()
        rows = []
        for seed in seed_list(args.seeds):
            rows.append(record(seed, args.sway, detector))
            print(f"recorded seed {seed}", flush=True)
        save_rows(rows, path)
        return 0
    rows = load_rows(parser, path, "--seeds, --sway and --cache")
    overrides, config = settings(parser, args.set)
    started = time.perf_counter()
    result = score(rows, config, args.verbose)
    print(f"{overrides or 'defaults'}: micro F1 {result['micro_f1']:.3f} (P {result['precision']:.3f}, "
          f"R {result['recall']:.3f}), macro F1 {result['macro_f1']:.3f}  [{time.perf_counter() - started:.0f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
