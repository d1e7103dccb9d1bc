"""How small a motion the region spotter can see on a real face held still: its sensitivity, without head
motion or real expression in the way.

    python benchmarks/bench_spotter_sensitivity.py [--video FILE] [--amplitudes 1.5 2 3 4] [--size 64]

One frame of a real clip (tests/data/real) is repeated for 14 s at 30 fps; every frame gets camera noise and
a JPEG pass (mer_live.synthetic.paste.degrade), and six micro-motions are pasted in at fixed times (brows
lowered and raised, mouth corners pulled and depressed, eye corners squinting, nose wrinkling; 0.3 s, 60 %
left at the offset). For each amplitude (frame pixels) it prints the face's interocular distance, and per
motion the strongest segment the spotter decided over it (kind, peak robust z against `threshold`) and how
many were reported as micro-expressions. On a moving, talking face the same motions are harder to see
(benchmarks/bench_real_spotting.py); a motion this benchmark cannot see, that one cannot either.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--video", type=Path, default=ROOT / "tests" / "data" / "real" / "PsychoPy_testMovie.mp4",
                        help="a real clip; its first frame with a face is held still")
    parser.add_argument("--amplitudes", type=float, nargs="+", default=[1.5, 2.0, 3.0, 4.0],
                        help="peak displacement of the pasted motions, frame pixels")
    parser.add_argument("--size", type=int, default=None, help="the spotter's crop side (default: SpotterConfig's)")
    parser.add_argument("--seed", type=int, default=0, help="camera noise")
    args = parser.parse_args(argv)

    import torch

    from mer_live.face import FaceDetector
    from mer_live.streaming.engine import Engine, EngineConfig
    from mer_live.streaming.sources import ArraySource, VideoFileSource
    from mer_live.streaming.spotting import SpotterConfig
    from mer_live.synthetic.paste import STILL_FACE_ACTIONS, STILL_FACE_FPS, find_points, still_face_stream

    torch.set_num_threads(1)
    detector = FaceDetector()
    with VideoFileSource(args.video) as video:
        for frame in video:
            points = find_points([frame.rgb], detector)[0]
            if not np.isnan(points).any():
                still = frame.rgb
                break
        else:
            parser.error(f"no face found in {args.video}")
    spotter = SpotterConfig() if args.size is None else dataclasses.replace(SpotterConfig(), size=args.size)
    iod = float(np.hypot(*(points[1] - points[0])))
    print(f"{args.video.name}: {still.shape[1]}x{still.shape[0]}, interocular distance {iod:.0f} px; spotter size "
          f"{spotter.size}, threshold {spotter.threshold}")
    for amplitude in args.amplitudes:
        frames, motions = still_face_stream(still, points, amplitude, np.random.default_rng(args.seed))
        engine = Engine(ArraySource(frames, fps=STILL_FACE_FPS), None, EngineConfig(spotter=spotter), detector=detector)
        decided = []
        push = engine.spotter.push

        def noted(t, gray, push=push, decided=decided):
            out = push(t, gray)
            decided.extend(out)
            return out

        engine.spotter.push = noted
        events = engine.run()
        cells = []
        for m in motions:
            over = [s for s in decided if s.end > m.onset and s.start < m.offset]
            best = max(over, key=lambda s: s.peak_score, default=None)
            cells.append("-" if best is None else f"{best.kind} {best.peak_score:.1f}")
        micro = sum(any(e.kind == "micro" and e.end > m.onset and e.start < m.offset for e in events) for m in motions)
        print(f"{amplitude:4.1f} px ({amplitude / iod:.3f} IOD): {micro} of {len(motions)} reported micro; "
              + "; ".join(f"{site} {action}: {cell}" for (site, action), cell in zip(STILL_FACE_ACTIONS, cells)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
