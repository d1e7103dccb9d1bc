"""`mer-live`: the live micro-expression window, or `--headless` the same engine without one.

Qt is imported only for the window (gui.app, lazily), so `--headless` runs on a server without a display.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mer-live",
        description="Spot and classify facial micro-expressions live from a webcam, a video, a folder of frames "
                    "or a synthetic stream, with an ONNX model exported by mer-export.",
        epilog="examples:  mer-live --demo   |   mer-live --source 0 --model smic.onnx   |   "
               "mer-live --headless --source clip.mp4 --model smic.onnx --out preds.csv --events events.csv")
    parser.add_argument("--source", help="camera index (0, 1, ...), video file, folder of frames, or 'synthetic'")
    parser.add_argument("--model", help="ONNX model written by mer-export (its metadata says frames, size, classes)")
    parser.add_argument("--demo", action="store_true",
                        help="synthetic stream + the shipped demo model (no camera, dataset or network needed)")
    parser.add_argument("--headless", action="store_true", help="no window: progress bar, CSV, events printed")
    parser.add_argument("--out", help="headless: CSV with one row per window (written atomically)")
    parser.add_argument("--events", help="headless: CSV of the spotted events")
    parser.add_argument("--provider", default="auto", choices=("auto", "cpu", "cuda", "tensorrt"),
                        help="ONNX Runtime provider (auto: TensorRT, CUDA, CPU, whichever works here)")
    parser.add_argument("--stride", type=float, default=0.1, help="seconds between windows (default 0.1)")
    parser.add_argument("--clip-seconds", type=float, default=None,
                        help="window length (default: the model's clip_seconds)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="spotting threshold: how far (in robust z units of the face's own noise) a facial "
                             "region must move from where it was to count (default 6.0)")
    parser.add_argument("--detect-every", type=int, default=None,
                        help="run the face detector every k-th frame (default: when needed, about once a second "
                             "while a face is held)")
    parser.add_argument("--face", default="detect", choices=("detect", "full"),
                        help="detect: MTCNN finds the face; full: frames are already face crops")
    parser.add_argument("--fps", type=float, default=None, help="frame rate of a folder of frames (default 30)")
    parser.add_argument("--quiet", action="store_true", help="headless: no progress bar or info lines")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.stride <= 0:
        parser.error("--stride must be > 0 seconds")
    if args.detect_every is not None and args.detect_every < 1:
        parser.error("--detect-every must be >= 1")
    if args.headless:
        if not args.demo and (args.source is None or args.model is None):
            parser.error("--headless needs --source and --model (or --demo)")
        from mer_live.streaming.headless import run_headless

        return run_headless(args)
    if args.out or args.events:
        parser.error("--out/--events are for --headless runs; the window records with its own Record option")
    try:
        from gui.app import run_app
    except ImportError as exc:
        print(f"error: the window needs PySide6 ({exc}); install it (pip install PySide6-Essentials) or run "
              f"with --headless", file=sys.stderr)
        return 2
    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
