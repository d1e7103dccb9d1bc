"""Spotting among distractors: mer-live's first engine beside this one, on the same streams, in one run.

    python benchmarks/bench_distractors.py [--seeds 100-109] [--real FILE ...] [--engines legacy,regions]

Synthetic: mer_live.synthetic.distractors streams (40 s, six micro-expressions of 0.2-0.5 s and 1-3 px, five
blinks, a held smile (a macro-expression), talking, a head drift, an in-plane turn, a lighting step; face,
amplitudes and timings vary by seed). The region spotter's settings were tuned on seeds 0-9: report on
others (100-109 by default). Scored as MEGC does: a spotted interval is a true positive when its IoU with a
true interval of the same kind is >= 0.5, one-to-one, pooled over streams. Real: micro events per minute on
each file given with --real (default: the committed tests/data/real clip, where there is none to find).

Both engines run offline (`run()`) with the demo model and MTCNN; the first engine needs the model (it
scores the model's window flow), the region spotter does not (its events are classified all the same).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mer_live.streaming import demo  # noqa: E402
from mer_live.streaming.engine import Engine, EngineConfig  # noqa: E402
from mer_live.streaming.sources import ArraySource, VideoFileSource  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENGINES = {"legacy": EngineConfig.legacy, "regions": EngineConfig}


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def matches(spotted: list[tuple[float, float]], truth: list[tuple[float, float]], at: float = 0.5):
    """One-to-one (spotted index, truth index) pairs with IoU >= `at`, best pairs first."""
    pairs = sorted(((iou(s, t), i, j) for i, s in enumerate(spotted) for j, t in enumerate(truth)), reverse=True)
    used_s, used_t, found = set(), set(), []
    for value, i, j in pairs:
        if value < at:
            break
        if i not in used_s and j not in used_t:
            used_s.add(i)
            used_t.add(j)
            found.append((i, j))
    return found


def seed_list(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi or lo) + 1))
    return seeds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="100-109", help="stream seeds, e.g. 100-109 or 0-9 (tuning) or 3,5")
    parser.add_argument("--duration", type=float, default=40.0, help="seconds per synthetic stream")
    parser.add_argument("--sway", type=float, default=0.0,
                        help="the head also sways slowly all along, this many pixels of a 64-px crop each way")
    parser.add_argument("--real", type=Path, nargs="*", default=[ROOT / "tests" / "data" / "real" /
                                                                 "WolfgangLanger_Pexels.mp4"])
    parser.add_argument("--engines", default="legacy,regions", help="comma-separated: legacy, regions")
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default: the demo model)")
    args = parser.parse_args(argv)

    from mer_live.face import FaceDetector
    from mer_live.progress import progress
    from mer_live.runtime import OnnxClassifier
    from mer_live.synthetic.render import LABEL_MOTIONS, motion_for
    from mer_live.synthetic.distractors import make_distractor_stream

    engines = [name.strip() for name in args.engines.split(",")]
    unknown = [name for name in engines if name not in ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {unknown}; choose from {', '.join(ENGINES)}")
    import torch

    torch.set_num_threads(1)                 # MTCNN on one thread for both engines (this measures spotting)
    classifier = OnnxClassifier(args.model or demo.demo_model_path(), provider="cpu", batch_size=1)
    detector = FaceDetector()
    counts = {name: dict(micro_tp=0, micro_n=0, macro_tp=0, macro_n=0, labelled=0, right=0) for name in engines}
    truth_micro = truth_macro = 0
    # the demo model's classes and the synthetic motion each stands for
    class_of = {motion_for(name): name for name in classifier.spec.class_names if name in LABEL_MOTIONS}
    started = time.perf_counter()
    for seed in progress(seed_list(args.seeds), desc="streams", unit="stream"):
        stream = make_distractor_stream(seed, duration_s=args.duration, sway_px=args.sway)
        micro, macro = stream.micro, stream.macro
        motions = [i.motion for i in stream.of_kind("micro")]
        truth_micro += len(micro)
        truth_macro += len(macro)
        for name in engines:
            events = Engine(ArraySource(stream.frames, fps=stream.fps), classifier, ENGINES[name](),
                            detector=detector).run()
            micro_events = [e for e in events if e.kind == "micro"]
            spotted_macro = [(e.start, e.end) for e in events if e.kind == "macro"]
            found = matches([(e.start, e.end) for e in micro_events], micro)
            c = counts[name]
            c["micro_tp"] += len(found)
            c["micro_n"] += len(micro_events)
            c["macro_tp"] += len(matches(spotted_macro, macro))
            c["macro_n"] += len(spotted_macro)
            for i, j in found:                     # classified right, where the model knows the motion
                if motions[j] in class_of:
                    c["labelled"] += 1
                    c["right"] += micro_events[i].label == class_of[motions[j]]
    print(f"synthetic streams {args.seeds} ({args.duration:g} s each{f', head swaying {args.sway:g} px' if args.sway else ''}): "
          f"{truth_micro} micro- and {truth_macro} macro-expressions; {time.perf_counter() - started:.0f} s")
    print(f"{'engine':10s} {'micro P':>8s} {'micro R':>8s} {'micro F1':>9s} {'spotted':>8s} {'macro F1':>9s} "
          f"{'spotted':>8s} {'class right':>12s}")
    for name in engines:
        c = counts[name]
        precision = c["micro_tp"] / max(c["micro_n"], 1)
        recall = c["micro_tp"] / max(truth_micro, 1)
        f1 = 2 * c["micro_tp"] / max(c["micro_n"] + truth_micro, 1)
        macro_f1 = 2 * c["macro_tp"] / max(c["macro_n"] + truth_macro, 1)
        print(f"{name:10s} {precision:8.3f} {recall:8.3f} {f1:9.3f} {c['micro_n']:8d} {macro_f1:9.3f} "
              f"{c['macro_n']:8d} {c['right']:5d} of {c['labelled']:<4d}")
    print(f"class right: spotted micro-expressions of the motions the model knows ({', '.join(class_of.values())}) "
          f"that it classified right")
    for path in args.real:
        for name in engines:
            source = VideoFileSource(path)
            engine = Engine(source, classifier, ENGINES[name](), detector=detector)
            events = engine.run()
            minutes = engine.stats().frames / source.fps / 60
            micro = sum(e.kind == "micro" for e in events)
            print(f"{path.name} ({minutes * 60:.1f} s), {name}: {micro} micro events ({micro / minutes:.1f}/min), "
                  f"{len(events) - micro} macro")
    return 0


if __name__ == "__main__":
    sys.exit(main())
