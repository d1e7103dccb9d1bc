"""`mer-live`: the live micro-expression window, or `--headless` the same engine without one.

Qt is imported only for the window (gui.app, lazily), so `--headless` runs on a server without a display.
Choices, defaults and their checks come from the engine (`EngineConfig`, `SpotterConfig`) and the runtime
(`PROVIDER_CHOICES`); this module only maps the command line onto them.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Sequence

from mer_live.choices import ArgumentParser
from mer_live.cli_errors import DEBUG_HELP, EXIT_BAD_MODEL, EXIT_USAGE, command_errors
from mer_live.cli_numbers import integer, number
from mer_live.flow import FLOW_CHOICES
from mer_live.runtime import PROVIDER_CHOICES
from mer_live.spec import SPEC_BOUNDS
from mer_live.streaming.engine import FACE_MODES, EngineConfig
from mer_live.streaming.headless import HeadlessOptions, run_headless
from mer_live.streaming.spotting import SpotterConfig


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="mer-live",
        description="Spot and classify facial micro-expressions live from a webcam, a video, a folder of frames "
                    "or a synthetic stream, with an ONNX model exported by mer-export.",
        epilog="examples:  mer-live --demo   |   mer-live --source 0 --model smic.onnx   |   "
               "mer-live --headless --source clip.mp4 --model smic.onnx --out preds.csv --events events.csv")
    parser.add_argument("--source", help="camera index (0, 1, ...), video file, folder of frames, or 'synthetic'")
    parser.add_argument("--model", help="ONNX model written by mer-export (its metadata says frames, size, classes)")
    parser.add_argument("--demo", action="store_true",
                        help="synthetic stream + the shipped demo model (no camera, dataset or network needed)")
    parser.add_argument("--headless", action="store_true", help="no window: progress, CSV, events printed")
    parser.add_argument("--out", help="headless: CSV with one row per window (written atomically)")
    parser.add_argument("--events", help="headless: CSV of the spotted events (and beside it NAME.watch.json: "
                                             "the share of face time the spotter watched)")
    parser.add_argument("--provider", default="auto", choices=PROVIDER_CHOICES,
                        help="ONNX Runtime provider (auto: TensorRT, CUDA, CPU, whichever works here)")
    parser.add_argument("--stride", type=number(above=0), default=EngineConfig.stride_s,
                        help="seconds between windows")
    parser.add_argument("--clip-seconds", type=number(above=0, high=SPEC_BOUNDS["clip_seconds"][1]), default=None,
                        help="window length (default: the model's clip_seconds)")
    parser.add_argument("--threshold", type=number(0), default=None,
                        help="spotting threshold: how far a facial region must move from where it was, in robust "
                             f"z units of that region's own noise, to count (default {SpotterConfig.threshold}); below the "
                             "default it also opens motion sooner, in proportion, so a very low one follows noise")
    parser.add_argument("--spotter", metavar="FILE", default=None,
                        help="the region spotter's settings, a JSON object of SpotterConfig fields (see "
                             "docs/SPOTTER_TUNING.md); --threshold, when given, overrides the file's")
    parser.add_argument("--detect-every", type=integer(1), default=EngineConfig.detect_every,
                        help="run the face detector every k-th frame (default: when needed, about once a second "
                             "while a face is held)")
    parser.add_argument("--flow", default=EngineConfig.flow, choices=FLOW_CHOICES,
                        help="optical flow of the windows: opencv (CPU), torch (mer_live.torch_flow: the same flow "
                             "within 0.001 px, batched, on the GPU when PyTorch sees one), auto (torch on a CUDA "
                             "GPU, else opencv)")
    parser.add_argument("--face", default=EngineConfig.face, choices=FACE_MODES,
                        help="detect: MTCNN finds the face and holds one still crop box; full: every frame is "
                             "already a face crop (mer-prepare's *_CROP folders, the datasets' cropped frames), "
                             "so no detector runs and the whole frame (its centre square) is the face")
    parser.add_argument("--fps", type=number(above=0, high=SPEC_BOUNDS["fps"][1]), default=None,
                        help="frame rate of a folder of frames (default: the rate of the model's training data, "
                             "from its metadata; video files and cameras carry their own)")
    parser.add_argument("--quiet", action="store_true", help="headless: no progress bar or info lines")
    parser.add_argument("--allow-partial", action="store_true",
                        help="headless: accept a source that ends early (a truncated video, a camera that stops): "
                             "what was read goes to --out/--events, marked partial in its last line, and the run "
                             "exits 0; without it those rows go to NAME.partial.csv beside them, --out/--events "
                             "are not touched, and the run exits 1")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    return parser


def engine_config(args: argparse.Namespace) -> EngineConfig:
    """The engine's settings from the command line; `EngineConfig` itself refuses bad values (ValueError)."""
    return EngineConfig(stride_s=args.stride, clip_seconds=args.clip_seconds, detect_every=args.detect_every,
                        face=args.face, spotter=spotter_config(args), flow=args.flow)


def spotter_config(args: argparse.Namespace) -> SpotterConfig:
    """--spotter FILE's settings (or the defaults), with --threshold over them when given."""
    from mer_live.streaming.spotter_settings import load_spotter_settings

    config = load_spotter_settings(args.spotter) if args.spotter else SpotterConfig()
    return config if args.threshold is None else dataclasses.replace(config, threshold=args.threshold)


def headless_options(args: argparse.Namespace) -> HeadlessOptions:
    return HeadlessOptions(source=args.source, model=args.model, demo=args.demo, out=args.out, events=args.events,
                           provider=args.provider, fps=args.fps, quiet=args.quiet, allow_partial=args.allow_partial)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = engine_config(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.headless:
        if not args.demo and (args.source is None or args.model is None):
            parser.error("--headless needs --source and --model (or --demo)")
        from mer_live.onnx_metadata import ModelFileError
        from mer_live.runtime import ProviderError
        from mer_live.streaming.sources import SourceError

        errors = {ModelFileError: EXIT_BAD_MODEL, ProviderError: EXIT_USAGE, SourceError: EXIT_USAGE}
        with command_errors("mer-live", errors, debug=args.debug) as outcome:
            outcome.status = run_headless(headless_options(args), config)
        return outcome.status
    if args.out or args.events:
        parser.error("--out/--events are for --headless runs; the window records with its own Record option")
    from gui.display import display_problem

    problem = display_problem()
    if problem:
        print(f"mer-live: error: {problem}", file=sys.stderr)
        return 2
    try:
        from gui.app import run_app
    except ImportError as exc:
        print(f"error: the window needs PySide6 ({exc}); install it (pip install PySide6-Essentials) or run "
              f"with --headless", file=sys.stderr)
        return 2
    return run_app(args, config)


if __name__ == "__main__":
    sys.exit(main())
