"""Spotting quality of the live engine on held-out synthetic long videos, MEGC-scored as `mer-spot` scores
real datasets: micro / macro / overall F1, precision and recall (IoU >= 0.5, same type, one to one, pooled),
false events per minute, and the delay from each true offset to the report.

    python benchmarks/bench_spotting.py [--videos 2] [--samm-videos 1] [--seed 1000] [--datasets ...]
                                        [--face-image PATH[#SECONDS]] [--model M.onnx] [--keep DIR]

The videos come from mer_live.spot_eval.synthetic (its own generator, never the one the spotter is tuned on),
in the three datasets' layouts: faces (the astronaut photo and, by default, a neutral frame of the Pexels
test video), micro-expressions of 0.2-0.5 s and 1-3 px, macro-expressions of 1-4 s (a 2 s smile among
them), head drift, blinks, a head turn, a lighting step and talking; plus, in CAS(ME)^2's layout, one video
with no expression at all (what a user sees when nothing happens). Each engine runs exactly as `mer-spot`
runs it (raw frames, MTCNN face box). Every engine variant this build offers is measured in the same run,
side by side: mer-live's first engine (`EngineConfig.legacy()`) and the engine of this build. The F1 figures do
not depend on the machine (the engine's run() is deterministic); the speed does.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mer_live.spot_eval import catalog, load_long_videos  # noqa: E402
from mer_live.spot_eval.evaluation import evaluate_video  # noqa: E402
from mer_live.spot_eval.report import summarize  # noqa: E402
from mer_live.spot_eval.runner import describe_classifier, run_videos, spot_only_classifier  # noqa: E402
from mer_live.spot_eval.synthetic import make_long_videos  # noqa: E402
from mer_live.spot_eval.synthetic_faces import face_from_file  # noqa: E402
from mer_live.spot_eval.synthetic_script import TRUTH_KIND  # noqa: E402
from mer_live.streaming.engine import EngineConfig  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PEXELS_NEUTRAL = ROOT / "tests" / "data" / "real" / "WolfgangLanger_Pexels.mp4"
PEXELS_NEUTRAL_AT_S = 9.9          # she looks ahead, mouth closed (Pexels License; see tests/data/real/README.md)
# SAMM runs at 200 fps: fewer actions per video keep its frame count near the others'.
SAMM_COUNTS = {"micro": (3, 4), "macro": (1, 1), "smile": (1, 1), "blink": (2, 3), "drift": (1, 1),
               "turn": (1, 1), "light": (1, 1), "talk": (1, 1)}


def engine_variants(model) -> list[tuple[str, EngineConfig, object]]:
    """(name, config, classifier) of every engine behaviour to compare, as mer-spot would run it."""
    legacy = EngineConfig.legacy()                       # mer-live's first engine, kept for this comparison
    new = EngineConfig(classify_windows=False)           # as mer-spot runs it: only events are classified
    return [("new engine: EngineConfig()", new, model or spot_only_classifier(new)),
            ("today's engine: EngineConfig.legacy()", legacy, model or spot_only_classifier(legacy))]


def make_data(root: Path, args) -> dict:
    """Write the held-out videos; {dataset: SyntheticLongDataset} (what was drawn, for the breakdown)."""
    made_all = {}
    faces = []
    if args.face_image != "none":
        faces.append(face_from_file(args.face_image))
    for name in args.datasets:
        started = time.perf_counter()
        samm = name == "SAMM_LV"
        made = make_long_videos(root, name, videos=args.samm_videos if samm else args.videos, seed=args.seed,
                                frame_size=tuple(args.size), faces=faces, unlabeled=int(name == "CASME_SQ"),
                                counts=SAMM_COUNTS if name == "SAMM_LV" else None, quiet=False)
        frames = sum(len(v.numbers) for v in made.videos)
        print(f"{name}: {len(made.videos)} videos, {frames} frames written in {time.perf_counter() - started:.0f} s "
              f"(faces: {', '.join(sorted({v.face for v in made.videos}))})", file=sys.stderr)
        made_all[name] = made
    return made_all


def micro_recall_by(results: list[dict], made: dict) -> str:
    """Recall of the annotated micro-expressions by the motion and amplitude the generator drew."""
    drawn = {}
    for dataset in made.values():
        for video in dataset.videos:
            actions = [a for a in video.script.actions if TRUTH_KIND.get(a.kind) in ("micro", "macro")]
            for interval, action in zip(video.truth, actions):
                drawn[(video.video_id, interval.onset, interval.offset)] = action
    by_motion, by_amplitude = {}, {}
    for result in results:
        matched = evaluate_video(result).matched_annotations
        for i, annotation in enumerate(result["annotations"]):
            action = drawn.get((result["video_id"], annotation["onset"], annotation["offset"]))
            if annotation["kind"] != "micro" or action is None:
                continue
            band = f"{int(action.amplitude * 2) / 2:.1f}-{int(action.amplitude * 2) / 2 + 0.5:.1f} px"
            for table, key in ((by_motion, action.motions[0]), (by_amplitude, band)):
                hit, total = table.get(key, (0, 0))
                table[key] = (hit + (i in matched), total + 1)

    def text(table):
        return ", ".join(f"{k} {h}/{n}" for k, (h, n) in sorted(table.items()))

    return f"micro recall by motion: {text(by_motion)}\nmicro recall by amplitude: {text(by_amplitude)}"


def false_micro_by_cause(results: list[dict], made: dict) -> str:
    """What the face was doing (by the generator's script) during each false micro event: the actions that
    overlap it, give or take 0.25 s; "nothing" when none does."""
    drawn = {v.video_id: (v.drawn(), v.fps) for dataset in made.values() for v in dataset.videos}
    causes: dict[str, int] = {}
    for result in results:
        actions, fps = drawn.get(result["video_id"], ([], 30.0))
        slack = int(round(0.25 * fps))
        matched = evaluate_video(result).matched_events
        for i, event in enumerate(result["events"]):
            if event["kind"] != "micro" or i in matched:
                continue
            hit = sorted({kind for kind, first, last in actions
                          if event["onset"] <= last + slack and event["offset"] >= first - slack})
            key = "+".join(hit) or "nothing"
            causes[key] = causes.get(key, 0) + 1
    text = ", ".join(f"{k} {n}" for k, n in sorted(causes.items(), key=lambda kv: -kv[1]))
    return f"false micro events, by what the face did then: {text or 'none'}"


def row(name: str, s: dict) -> str:
    """One table row; speed from the engine's own wall time per video (kept in each video's result, so a
    run resumed with --keep prints the figures it measured)."""
    c, fpm, d = s["counts"], s["false_per_minute"], s["delay"]
    wall = sum(v["wall_s"] for v in s["per_video"])

    def f1(kind):
        k = c[kind]
        return f"{k['f1']:.2f} ({k['precision']:.2f}/{k['recall']:.2f})"

    def delay(kind):
        v = d[kind]
        return "-" if not v["count"] else f"{v['median_s']:.2f}/{v['p95_s']:.2f}"

    speed = s["minutes"] * 60 / wall if wall > 0 else 0.0
    return (f"{name:<10} {s['videos']:>3} {s['minutes']:>5.1f} | {f1('micro'):>16} {f1('macro'):>16} "
            f"{f1('overall'):>16} | {fpm['micro']:>6.2f} {fpm['overall']:>6.2f} | {delay('micro'):>9} "
            f"{delay('macro'):>9} | {speed:>5.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=2, help="annotated videos per 30 fps dataset (default 2)")
    parser.add_argument("--samm-videos", type=int, default=1, help="annotated SAMM videos (200 fps; default 1)")
    parser.add_argument("--seed", type=int, default=1000, help="generator seed (default 1000: the reported set)")
    parser.add_argument("--datasets", nargs="+", default=list(catalog.SPOT_DATASETS), choices=catalog.SPOT_DATASETS)
    parser.add_argument("--face-image", default=f"{PEXELS_NEUTRAL}#{PEXELS_NEUTRAL_AT_S}",
                        help="a second face (image, or video#seconds); 'none' for the astronaut alone")
    parser.add_argument("--size", type=int, nargs=2, default=(240, 320), metavar=("H", "W"))
    parser.add_argument("--model", help="ONNX model to classify events (default: spot only)")
    parser.add_argument("--keep", help="keep the videos and results in this folder (default: a temp folder)")
    args = parser.parse_args()
    model = None
    if args.model:
        from mer_live.runtime import OnnxClassifier

        model = OnnxClassifier(args.model, batch_size=1)
    with tempfile.TemporaryDirectory(prefix="bench_spotting_") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        data_root = work / "data"
        made = make_data(data_root, args)
        print(f"seed {args.seed}, {args.videos} annotated videos per dataset, frames {args.size[0]}x{args.size[1]}; "
              f"F1 (precision/recall); false events per minute; delay after the true offset median/p95 (s); "
              f"speed = video seconds per wall second (noisy on a shared machine)")
        header = (f"{'dataset':<10} {'vid':>3} {'min':>5} | {'micro F1 (P/R)':>16} {'macro F1 (P/R)':>16} "
                  f"{'overall F1 (P/R)':>16} | {'fp/min':>6} {'(all)':>6} | {'dly micro':>9} {'dly macro':>9} | "
                  f"{'speed':>6}")
        indexes = {name: load_long_videos(data_root, name) for name in args.datasets}
        for v, (variant, config, classifier) in enumerate(engine_variants(model)):
            print(f"\n== {variant}; {describe_classifier(classifier)}\n{header}", flush=True)
            pooled = []
            for name, index in indexes.items():
                results = run_videos(index.videos, work / "runs" / f"v{v}" / name, classifier, config, quiet=True)
                pooled += results
                print(row(name, summarize(results)), flush=True)
            print(row("all", summarize(pooled)))
            print(micro_recall_by(pooled, made))
            print(false_micro_by_cause(pooled, made), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
