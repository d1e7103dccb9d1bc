"""Measurements tried for the region spotter and not kept, left runnable so that anyone can redo them
(docs/SPOTTER_TUNING.md, "Another flow, a longer lag, speech taken off").

    python benchmarks/measurement_tries.py flow dis1:FinestScale=0 distractor replay --seeds 110-114 --sway 6
    python benchmarks/measurement_tries.py flow dis1:FinestScale=0 real bound --split tune
    python benchmarks/measurement_tries.py speech [--seeds 20-24]
    python benchmarks/measurement_tries.py gain [--video tests/data/real/GRID_s31_joined.mp4] [--amplitude 2]

`flow FLOW distractor|real ARGS...` runs distractor_replay.py or real_spotting_replay.py with ARGS (on their
records: record them first) with the spotter's Farneback flow swapped for FLOW: `farneback` (as shipped) or
OpenCV's DIS flow, `dis0`, `dis1` or `dis2` (its ultrafast, fast and medium presets), with its setters after
a colon if wanted (`dis2:FinestScale=0,PatchSize=6`).

`speech` asks how much of the brows', eyelids' and nose wings' own motion over `lag_s` on the clean tuning
clips (one clean run per clip, from real_spotting_replay.py's tuning record) a linear fit on the mouth's and
jaw's motion over the same lag explains: fitted on each clip's first half, measured on its second, the median
and 90th percentile of each region's motion before and after (pixels of a 64-px crop).

`gain` asks whether the measurement sees what is pasted: on one frame of a real clip (the face held still),
each pasted site and action at `--amplitude` frame pixels, the region that the warp moves most, what the
warp moves it by on average over the region's box (worked out from the warp itself) against what the
spotter's registration measures there (frame with the motion against the frame without it, each with its
own camera noise and JPEG pass), and what it measures between two noisy copies of the frame without motion.
Pixels of a 64-px crop, as the spotter's thresholds are.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mer_live.streaming import face_motion  # noqa: E402


def dis_flow(spec: str):
    """`disN[:Setter=value,...]` -> a flow function with face_motion.flow's signature."""
    name, _, options = spec.partition(":")
    if name not in ("dis0", "dis1", "dis2"):
        raise ValueError(f"unknown flow {spec!r}: use farneback, dis0, dis1 or dis2 (optionally :Setter=value,...)")
    dis = cv2.DISOpticalFlow_create(int(name[3:]))
    for item in filter(None, options.split(",")):
        key, _, value = item.partition("=")
        setter = getattr(dis, "set" + key, None)
        if setter is None:
            raise ValueError(f"DIS flow has no setting {key!r} (e.g. FinestScale, PatchSize, PatchStride)")
        setter(float(value) if "." in value else int(value))
    return lambda previous, following: dis.calc(previous, following, None)


def speech(parser: argparse.ArgumentParser, seeds: str) -> int:
    import real_spotting_replay as replay
    from mer_live.streaming.spotting import GROUP_MEMBERS, SPEECH_MEMBERS, SpotterConfig

    rows = replay.load_rows(parser, replay.cache_file(replay.CACHE, "tune", seeds),
                            "--seeds (real_spotting_replay.py record --split tune)")
    config, seen = SpotterConfig(), set()
    for row in rows:
        if row["video"] in seen:                 # one clean run per clip: the others differ in camera noise only
            continue
        seen.add(row["video"])
        changes = replay.lag_changes(row["runs"]["clean"], config)
        moved = np.stack([changes[t] for t in sorted(changes)])                  # (T, R, 2)
        speaking = np.hstack([moved[:, SPEECH_MEMBERS].reshape(len(moved), -1), np.ones((len(moved), 1))])
        half = len(moved) // 2
        for group in ("brows", "eyes", "nose"):
            for member in GROUP_MEMBERS[group]:
                own = moved[:, member]
                a, b = speaking[:half], own[:half]
                weights = np.linalg.solve(a.T @ a + 1e-3 * np.eye(a.shape[1]), a.T @ b)
                before = np.hypot(*own[half:].T)
                after = np.hypot(*(own[half:] - speaking[half:] @ weights).T)
                print(f"{row['video']:16s} {group:5s} region {member}: median {np.median(before):.3f} -> "
                      f"{np.median(after):.3f}, p90 {np.percentile(before, 90):.3f} -> {np.percentile(after, 90):.3f}")
    return 0


def gain(video: Path, amplitude: float, frame_index: int) -> int:
    from real_spotting_replay import recording_detector

    from mer_live.face import square_box
    from mer_live.streaming.face_motion import IDENTITY, REGION_NAMES, FaceMotion, normalised_gray
    from mer_live.streaming.face_tracker import TrackerConfig
    from mer_live.streaming.sources import VideoFileSource
    from mer_live.streaming.spotting import SpotterConfig
    from mer_live.synthetic.paste import PastedMotion, degrade, paste, region_displacement

    with VideoFileSource(video) as source:
        frame = next((f for f in source if f.index == frame_index), None)
    if frame is None:
        raise SystemExit(f"measurement_tries.py: {video} has no frame {frame_index}: choose a smaller --frame")
    face = recording_detector(min_face_size=32).detect(frame.rgb)
    if face is None:
        raise SystemExit(f"measurement_tries.py: no face found on frame {frame_index} of {video}: try --frame")
    size = SpotterConfig().size
    box = x1, y1, x2, y2 = square_box(face.box, frame.rgb.shape, TrackerConfig().margin)
    scale = size / (x2 - x1)
    points = np.asarray(face.landmarks, np.float64).reshape(5, 2)
    iod = float(np.hypot(*(points[1] - points[0])))
    to_64 = 64.0 / size

    def crop(rgb: np.ndarray) -> np.ndarray:
        return normalised_gray(rgb[y1:y2, x1:x2], size)

    motion = FaceMotion(size)
    motion.set_landmarks((points - [x1, y1]) * scale)
    rng = np.random.default_rng(0)
    print(f"{video.name}: frame {frame_index}, interocular distance {iod:.0f} px, crop {x2 - x1} px -> {size}; "
          f"{amplitude:g} px pasted is {amplitude * scale * to_64:.2f} px of a 64-px crop at the site's centre")
    for site, action in (("brows", "raise"), ("brows", "lower"), ("eye_corners", "squint"),
                         ("nose_wings", "wrinkle"), ("mouth_corners", "pull"), ("mouth_corners", "depress")):
        pasted = PastedMotion(onset=0.0, apex=0.5, offset=1.0, site=site, action=action, sides="both",
                              amplitude_px=amplitude, remain=1.0, release_s=1.0)
        still = crop(degrade(frame.rgb, rng))
        moved = motion.register(still, crop(degrade(paste(frame.rgb, 0.5, points, [pasted]), rng)), IDENTITY)
        quiet = motion.register(still, crop(degrade(frame.rgb, rng)), IDENTITY)
        expected = region_displacement(motion.regions.boxes, box, size, 0.5, points, [pasted])
        region = int(np.argmax(np.hypot(*expected.T)))
        print(f"  {site:13s} {action:8s} region {REGION_NAMES[region]:7s}: the warp moves it "
              f"{np.hypot(*expected[region]) * to_64:.2f}, measured {np.hypot(*moved.vectors[region]) * to_64:.2f} "
              f"(without the motion {np.hypot(*quiet.vectors[region]) * to_64:.2f})")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    flow = sub.add_parser("flow", help="replay with another optical flow")
    flow.add_argument("flow", help="farneback, dis0, dis1 or dis2[:Setter=value,...]")
    flow.add_argument("replay", choices=("distractor", "real"))
    flow.add_argument("args", nargs=argparse.REMAINDER, help="the replay script's own arguments")
    talk = sub.add_parser("speech", help="how much the mouth's and jaw's motion explains of the others'")
    talk.add_argument("--seeds", default="20-24")
    seen = sub.add_parser("gain", help="whether the measurement sees what is pasted, on one still frame")
    seen.add_argument("--video", type=Path, default=Path(__file__).resolve().parent.parent / "tests" / "data" / "real"
                      / "GRID_s31_joined.mp4")
    seen.add_argument("--frame", type=int, default=10, help="which frame of the clip")
    seen.add_argument("--amplitude", type=float, default=2.0, help="frame pixels")
    args = parser.parse_args(argv)
    if args.action == "speech":
        return speech(talk, args.seeds)
    if args.action == "gain":
        return gain(args.video, args.amplitude, args.frame)
    if args.flow != "farneback":
        try:
            face_motion.flow = dis_flow(args.flow)        # FaceMotion.register looks it up at each call
        except ValueError as e:
            parser.error(str(e))
    if args.replay == "real":
        import real_spotting_replay as replay
    else:
        import distractor_replay as replay
    print(f"flow: {args.flow}", flush=True)
    return replay.main(args.args)


if __name__ == "__main__":
    sys.exit(main())
