"""`mer-spot DATA_PATH DATASET`: MEGC-style evaluation of the live spotting engine on long videos.

Runs the same causal streaming engine as `mer-live` over every video of a long-video dataset (CAS(ME)^2,
SAMM Long Videos, CAS(ME)^3 part A), one video at a time, and scores the events it reports as MEGC does
(IoU >= 0.5 with an annotation of the same type, one to one, pooled over videos: F1 for micro, macro and
overall), adding what a live user meets: the delay from each expression's end to its report, and the
false events per minute. Writes OUT/report.md, OUT/report.json and OUT/timelines/<video>.png; each video's
result is kept as it finishes, so the same command resumes an interrupted run and only rebuilds the report
of a finished one. The scoring conventions (--type-absent, --onset-missing) are printed in the report and
may differ from the run's: a finished run's report is rebuilt under them without running the engine.
--calibrate also chooses the spotter's settings on the dataset, leave-one-subject-out (spot_eval.calibration),
and reports the figures they give beside the run's.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Sequence

from mer_live.choices import ArgumentParser, DefaultsHelpFormatter
from mer_live.spot_eval.catalog import SPOT_DATASETS, TITLES
from mer_live.spot_eval.conventions import ONSET_MISSING, TYPE_ABSENT, Conventions

PROG = "mer-spot"


class UsageError(ValueError):
    """Bad input from the command line (exit status 2)."""


class _HelpFormatter(DefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Real defaults in the option help, the epilog as written."""


class _Parser(ArgumentParser):
    """The commands' parser ("did you mean" on a choice), but a usage error is one `mer-spot: error: ...`
    line (no usage block), exit status 2."""

    def error(self, message: str):  # argparse's hook; must not return
        print(f"{PROG}: error: {message} (see {PROG} --help)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    from mer_live.cli_errors import DEBUG_HELP
    from mer_live.cli_numbers import integer, number
    from mer_live.flow import FLOW_CHOICES
    from mer_live.runtime import PROVIDER_CHOICES
    from mer_live.spec import SPEC_BOUNDS
    from mer_live.streaming.engine import FACE_MODES, EngineConfig
    from mer_live.streaming.spotting import SpotterConfig

    defaults, spotter = EngineConfig(), SpotterConfig()  # the help shows the engine's own defaults
    parser = _Parser(prog=PROG, description="MEGC-style evaluation of the live spotting engine on long videos.",
                     epilog=__doc__.split("\n", 2)[2], formatter_class=_HelpFormatter)
    parser.add_argument("data_path", metavar="DATA_PATH",
                        help="folder that holds the dataset's folder (/data, not /data/CASME_SQ)")
    parser.add_argument("dataset", metavar="DATASET", choices=SPOT_DATASETS,
                        help="; ".join(f"{k}: {v}" for k, v in TITLES.items()))
    parser.add_argument("--model", help="ONNX model from mer-export to classify each event; without it the "
                                        "engine only spots")
    parser.add_argument("--out", help="output folder (default runs/spot-DATASET); an interrupted run resumes there")
    parser.add_argument("--videos", nargs="+", metavar="VIDEO",
                        help="only these videos (ids as in the report, e.g. s15/15_0101disgustingteeth, 006_1, spNO.1/a)")
    parser.add_argument("--skip-unlabeled", action="store_true",
                        help="leave out videos without annotations (default: score them; all their events are "
                             "false ones)")
    parser.add_argument("--type-absent", default=Conventions.type_absent, choices=sorted(TYPE_ABSENT),
                        help="videos with no annotation of the scored type: count (MEGC: their spotted intervals "
                             "of that type are false positives) or skip (SOFTNet's loader)")
    parser.add_argument("--onset-missing", default=Conventions.onset_missing, choices=sorted(ONSET_MISSING),
                        help="annotations whose onset is not coded (SAMM Long Videos' 10 macro rows with onset 0): "
                             "apex (scored as [apex, offset], the public MEGC loaders) or drop (SOFTNet)")
    parser.add_argument("--provider", default="auto", choices=PROVIDER_CHOICES,
                        help="ONNX Runtime provider for --model")
    parser.add_argument("--flow", default=defaults.flow, choices=FLOW_CHOICES,
                        help="optical flow of the events' clips for --model: opencv (CPU), torch "
                             "(mer_live.torch_flow, the same flow within 0.001 px; on the GPU when PyTorch sees "
                             "one), auto (torch on a CUDA GPU, else opencv)")
    parser.add_argument("--stride", type=number(above=0), default=defaults.stride_s,
                        help=f"seconds between windows (default {defaults.stride_s})")
    parser.add_argument("--clip-seconds", type=number(above=0, high=SPEC_BOUNDS["clip_seconds"][1]), default=None,
                        help="window length (default: the model's)")
    parser.add_argument("--spotter", metavar="FILE", default=None,
                        help="the region spotter's settings, a JSON object of SpotterConfig fields (see "
                             "docs/SPOTTER_TUNING.md); named in the report; --threshold overrides the file's")
    parser.add_argument("--threshold", type=number(0), default=None,
                        help=f"the spotter's threshold (SpotterConfig.threshold, default {spotter.threshold}); below "
                             "the default it also opens motion sooner, in proportion")
    parser.add_argument("--detect-every", type=integer(1), default=None,
                        help="run the face detector every k-th frame (default: when the engine needs it, as the "
                             "live app does)")
    parser.add_argument("--face", default=defaults.face, choices=FACE_MODES,
                        help="detect: MTCNN finds the face (raw frames, as the datasets ship); full: frames are "
                             "already face crops")
    parser.add_argument("--calibrate", action="store_true",
                        help="also choose the spotter's settings on the dataset, leave-one-subject-out: each "
                             "point of a grid runs over every video, each subject is scored with the point best on "
                             "the other subjects, and the report gives these figures beside the run's; the point "
                             "best on all subjects is written to OUT/calibrated-spotter.json (a --spotter file). "
                             "Needs videos of 2 subjects or more")
    parser.add_argument("--calibrate-grid", metavar="FILE", default=None,
                        help="the grid for --calibrate (implies it): a JSON object of setting -> list of values, "
                             "e.g. {\"threshold\": [5, 6, 7], \"hold_s\": [1, 2]}; the run's own values are "
                             "added (default: open_threshold and threshold at 0.8, 1 and 1.25 times the run's)")
    parser.add_argument("--calibrate-score", default="micro", choices=("micro", "macro", "overall"),
                        help="the pooled F1 --calibrate maximises")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    return parser


def engine_config(args: argparse.Namespace):
    """The EngineConfig of the options. With a model only the events are classified (the live app's
    per-stride windows feed its probability bars, which a score does not need)."""
    from mer_live.streaming.engine import EngineConfig
    from mer_live.streaming.spotting import SpotterConfig

    from mer_live.streaming.spotter_settings import load_spotter_settings

    spotter = load_spotter_settings(args.spotter) if args.spotter else SpotterConfig()
    if args.threshold is not None:
        spotter = dataclasses.replace(spotter, threshold=args.threshold)
    return EngineConfig(stride_s=args.stride, clip_seconds=args.clip_seconds, detect_every=args.detect_every,
                        face=args.face, spotter=spotter, classify_windows=False, flow=args.flow)


def _select(index, names: Sequence[str] | None, skip_unlabeled: bool):
    from mer_live.suggest import did_you_mean

    videos = list(index.videos)
    if names:
        known = {v.video_id: v for v in videos}
        unknown = [n for n in names if n not in known]
        if unknown:
            hint = did_you_mean(unknown[0], known)
            raise UsageError(f"--videos: {', '.join(unknown)} not in {index.name}"
                             + (f"; {hint}" if hint else f" (its videos are named like {', '.join(list(known)[:3])})"))
        videos = [known[n] for n in dict.fromkeys(names)]
    if skip_unlabeled:
        videos = [v for v in videos if v.intervals]
    if not videos:
        raise UsageError("no video left to score (--skip-unlabeled left none)")
    return videos


def _commit() -> str | None:
    """The git commit of the mer_live package, when it runs from a checkout (for the report)."""
    import subprocess

    try:
        out = subprocess.run(["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def _prepare(args: argparse.Namespace):
    """Everything checked before any work: (index, videos, classifier, config, out_dir, settings, grid);
    `grid` is None without --calibrate."""
    from mer_live.atomic import check_writable
    from mer_live.spot_eval.readers import load_long_videos
    from mer_live.spot_eval.runner import check_run_settings, engine_settings, spot_only_classifier

    out_dir = check_writable(Path(args.out or f"runs/spot-{args.dataset}"), folder=True)
    index = load_long_videos(args.data_path, args.dataset)
    videos = _select(index, args.videos, args.skip_unlabeled)
    if args.model:
        from mer_live.runtime import OnnxClassifier

        model = Path(args.model)
        if not model.is_file():
            raise UsageError(f"--model {model} does not exist; give an .onnx file written by mer-export")
        classifier = OnnxClassifier(model, provider=args.provider, batch_size=1)
    else:
        classifier = spot_only_classifier()
    config = engine_config(args)
    grid = None
    if args.calibrate or args.calibrate_grid:
        from mer_live.spot_eval.calibration import CalibrationError, default_grid, load_grid

        grid = load_grid(args.calibrate_grid, config.spotter) if args.calibrate_grid else default_grid(config.spotter)
        subjects = sorted({str(v.subject) for v in videos})
        if len(subjects) < 2:
            raise CalibrationError(f"--calibrate holds one subject out at a time, so it needs videos of at least 2 "
                                   f"subjects; the {len(videos)} video(s) to score are all of subject {subjects[0]}")
    settings = {"dataset": args.dataset, "data_path": str(Path(args.data_path).resolve()),
                "model": str(Path(args.model).resolve()) if args.model else None,
                "skip_unlabeled": bool(args.skip_unlabeled), "engine": engine_settings(config),
                "spotter_file": str(Path(args.spotter).resolve()) if args.spotter else None}
    check_run_settings(out_dir, settings)
    return index, videos, classifier, config, out_dir, settings, grid


def main(argv: Sequence[str] | None = None) -> int:
    from mer_live.cli_errors import EXIT_BAD_MODEL, EXIT_INCOMPLETE, EXIT_USAGE, command_errors
    from mer_live.datasets.records import DatasetError
    from mer_live.onnx_metadata import ModelFileError
    from mer_live.runtime import ProviderError
    from mer_live.spot_eval.calibration import CalibrationError
    from mer_live.spot_eval.runner import RunConflict
    from mer_live.streaming.spotter_settings import SpotterSettingsError

    args = build_parser().parse_args(argv)
    errors = {UsageError: EXIT_USAGE, DatasetError: EXIT_USAGE, RunConflict: EXIT_USAGE,
              SpotterSettingsError: EXIT_USAGE, CalibrationError: EXIT_USAGE, ModelFileError: EXIT_BAD_MODEL,
              ProviderError: EXIT_USAGE}
    out_dir = Path(args.out or f"runs/spot-{args.dataset}")
    kept = f"finished videos are kept in {out_dir}: run the same command to go on"
    report = None
    with command_errors(PROG, errors, debug=args.debug, interrupted=kept, kept=kept) as outcome:
        index, videos, classifier, config, out_dir, settings, grid = _prepare(args)
        report = _run(args, index, videos, classifier, config, out_dir, settings, grid)
    if outcome.status or report is None:
        return outcome.status
    print(_figures(report["summary"]))
    calibration = report.get("calibration")
    if calibration:
        print("calibrated (leave-one-subject-out): " + _figures(calibration["summary"]))
        print(f"{PROG}: settings chosen on all subjects ({calibration['all_subjects']['point']}) in "
              f"{calibration['all_subjects']['file']}", file=sys.stderr)
    print(f"{PROG}: report in {out_dir / 'report.md'}", file=sys.stderr)
    damaged = [row for row in report["summary"]["per_video"] if row.get("unreadable_frames")]
    if damaged:
        print(f"{PROG}: warning: {report['summary']['unreadable_frames']} unreadable frame(s) skipped in "
              f"{len(damaged)} video(s) ({', '.join(row['video_id'] for row in damaged[:5])}"
              f"{', ...' if len(damaged) > 5 else ''}); their scores are not the intact dataset's (see the report)",
              file=sys.stderr)
    failed = [row["video_id"] for row in report["summary"]["per_video"] if row["errors"]]
    if failed:
        print(f"{PROG}: {len(failed)} video(s) ended early on an engine error (see the report): "
              f"{', '.join(failed[:5])}", file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0


def _figures(summary: dict) -> str:
    counts = summary["counts"]
    return (" | ".join(f"{k} F1 {counts[k]['f1']:.3f} (P {counts[k]['precision']:.3f}, R {counts[k]['recall']:.3f})"
                       for k in ("micro", "macro", "overall"))
            + f" | any-type F1 {summary['any_type']['f1']:.3f}")


def _run(args, index, videos, classifier, config, out_dir: Path, settings: dict, grid=None) -> dict:
    """Run the videos that have no result yet, then write the report; returns it."""
    from mer_live import __version__
    from mer_live.progress import write
    from mer_live.spot_eval.conventions import records_filled
    from mer_live.spot_eval.report import draw_video_timeline, write_report
    from mer_live.spot_eval.runner import describe_classifier, run_videos

    conventions = Conventions(type_absent=args.type_absent, onset_missing=args.onset_missing)

    if not args.quiet:
        write(f"{PROG}: {index.summary()}")
        write(f"{PROG}: scoring {len(videos)} videos with {describe_classifier(classifier)}")
    run_info = {"title": TITLES[args.dataset], "dataset": args.dataset, "data_path": settings["data_path"],
                "classifier": describe_classifier(classifier), "model": settings["model"],
                "mer_live_version": __version__, "commit": _commit(), "engine": settings["engine"],
                "spotter_file": settings["spotter_file"],
                "videos": [v.video_id for v in videos]}
    results = run_videos(videos, out_dir, classifier, config, quiet=args.quiet,
                         on_done=lambda result: draw_video_timeline(out_dir, result, conventions))
    if conventions.onset_missing == "drop" and not records_filled(results):
        raise UsageError(f"--onset-missing drop: the results in {out_dir} were written by an older mer-spot that "
                         f"did not record which onsets were not coded; run again with another --out")
    calibration = None
    if grid is not None:
        from mer_live.spot_eval.calibration import SETTINGS_FILE, calibrate, run_grid

        if not args.quiet:
            write(f"{PROG}: calibrating: {len(grid.points())} grid points x {len(videos)} videos, "
                  "leave-one-subject-out")
        all_results = run_grid(videos, out_dir, grid, config, settings, quiet=args.quiet)
        calibration = calibrate(all_results, grid, conventions, args.calibrate_score, out_dir / SETTINGS_FILE)
    return write_report(out_dir, run_info, results, index.notes, conventions, calibration)


if __name__ == "__main__":
    sys.exit(main())
