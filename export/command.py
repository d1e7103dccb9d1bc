"""`mer-export CHECKPOINT [-o OUT.onnx]`: a checkpoint, or every checkpoint of a mer-train run, to verified ONNX."""
from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from mer_live.atomic import check_apart, check_writable
from mer_live.checkpoint import CheckpointError
from mer_live.choices import ArgumentParser
from mer_live.cli_errors import (DEBUG_HELP, EXIT_BAD_MODEL, EXIT_INCOMPLETE, EXIT_OK, CommandError,
                                 command_errors)
from mer_live.progress import progress, write

from mer_live.cli_numbers import integer

from export.onnx_export import (DEFAULT_OPSET, EXPORTERS, ExportError, ExportResult, default_output_path,
                                export_checkpoint, supported_opsets)


def run_checkpoints(run_dir: Path) -> list[Path]:
    """A mer-train output folder's checkpoints: folds/*/model.pt (sorted) then final/model.pt."""
    found = sorted(run_dir.glob("folds/*/model.pt")) + sorted(run_dir.glob("final/model.pt"))
    if not found:
        raise ExportError(f"{run_dir} is a folder without checkpoints: expected a mer-train output with "
                          "folds/*/model.pt or final/model.pt, or give a checkpoint file")
    return found


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="mer-export",
        description="Export a mer-live checkpoint to a self-describing ONNX file, verified against PyTorch "
                    "with ONNX Runtime before it is written.",
    )
    p.add_argument("checkpoint", type=Path,
                   help="a checkpoint (model.pt) or a mer-train output folder (exports folds/*/model.pt and "
                        "final/model.pt, each next to its checkpoint)")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="output .onnx file (default: next to the checkpoint, model.onnx or model.fp16.onnx); "
                        "single checkpoint only")
    low, high = supported_opsets()
    p.add_argument("--opset", type=integer(low=low, high=high), default=DEFAULT_OPSET,
                   help=f"ONNX opset, {low} to {high} with this torch (default {DEFAULT_OPSET})")
    p.add_argument("--fp16", action="store_true",
                   help="store weights and input in float16 (for GPU inference; verified to 2e-2 on probabilities)")
    p.add_argument("--static-batch", action="store_true",
                   help="fix the batch axis to 1 (default: dynamic batch axis)")
    p.add_argument("--exporter", choices=EXPORTERS, default="auto",
                   help="auto (default): the TorchScript exporter (seconds; dynamo=False), falling back to "
                        "torch.export (dynamo=True, minutes for large models) with a warning; or force one")
    p.add_argument("--tolerance", type=float, default=None,
                   help="override the verification tolerance (fp32: max |Δ logits| 1e-4; fp16: max |Δ probs| 2e-2)")
    p.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    return p


def format_table(results: list[ExportResult], failures: list[tuple[Path, str]]) -> str:
    header = ("checkpoint", "onnx", "exporter", "prec", "|Δ logits|", "|Δ probs|", "top-1", "MB", "s", "status")
    rows = []
    for r in results:
        agree, total = r.verification.top1_agreement
        rows.append((str(r.checkpoint), r.output.name, r.exporter + (" (fallback)" if r.fallback_reason else ""),
                     r.precision, f"{r.verification.max_abs_logits:.1e}", f"{r.verification.max_abs_probs:.1e}",
                     f"{agree}/{total}", f"{r.size_bytes / 1e6:.1f}", f"{r.seconds:.0f}", "ok"))
    for path, message in failures:
        rows.append((str(path), "-", "-", "-", "-", "-", "-", "-", "-", "FAILED: " + message))
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(row, widths)) + "  " + row[-1])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    low, high = supported_opsets(args.exporter)
    if not low <= args.opset <= high:
        parser.error(f"argument --opset: the {args.exporter} exporter writes opsets {low} to {high}, got {args.opset}")
    errors = {CheckpointError: EXIT_BAD_MODEL, ExportError: EXIT_INCOMPLETE}
    with command_errors("mer-export", errors, debug=args.debug,
                        interrupted="no file was written for the model being exported") as outcome:
        outcome.status = export_all(args)
    return outcome.status


def export_all(args: argparse.Namespace) -> int:
    """Export the one checkpoint (its errors reach the handler) or every one of a run folder (collected)."""
    say = functools.partial(write, file=sys.stdout)      # above the bar on a terminal, whole lines in a log
    options = dict(opset=args.opset, fp16=args.fp16, dynamic_batch=not args.static_batch,
                   exporter=args.exporter, tolerance=args.tolerance, report=say)
    target: Path = args.checkpoint
    if target.is_dir():
        if args.output is not None:
            raise CommandError(f"-o/--output names one file, but {target} is a run folder; each checkpoint's "
                               "ONNX file is written next to it (leave out -o)")
        try:
            checkpoints = run_checkpoints(target)
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
    elif not target.is_file():
        raise CommandError(f"checkpoint not found: {target} (mer-train writes them as <out>/folds/*/model.pt, "
                           "or give a mer-train output folder)")
    else:
        checkpoints = [target]
    for checkpoint in checkpoints:   # every output checked before the first (slow) export
        output = args.output if args.output is not None else default_output_path(checkpoint, args.fp16)
        check_apart({"-o/--output" if args.output is not None else "the ONNX file": output},
                    {"checkpoint": checkpoint})    # `-o m.pt` would replace the checkpoint being exported
        check_writable(output)
    if len(checkpoints) == 1:
        result = export_checkpoint(checkpoints[0], args.output, **options)
        print(f"wrote {result.output}")
        return EXIT_OK

    results: list[ExportResult] = []
    failures: list[tuple[Path, str]] = []
    for checkpoint in progress(checkpoints, desc="export", unit="model", log_every_s=0):
        try:
            results.append(export_checkpoint(checkpoint, None, **options))
            say(f"wrote {results[-1].output}")
        except (ExportError, CheckpointError) as exc:   # one bad checkpoint must not stop the others
            failures.append((checkpoint, str(exc)))
            write(f"mer-export: error: {exc}")
    print()
    print(format_table(results, failures))
    if failures:
        print(f"mer-export: {len(failures)} of {len(checkpoints)} export(s) failed; no file was written for them",
              file=sys.stderr)
        return EXIT_INCOMPLETE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
