"""Does the training protocol learn? Full LOSO of a small fusion model on a synthetic SMIC set; prints the
honest UF1 (last epoch of every fold, pooled) and the wall time. Goal on a 2-core CPU: UF1 >= 0.8 within
15 minutes with the defaults below.

    python benchmarks/bench_learning.py                      # CPU, nano ch3_1_fusion_cnn_like, GRAY_OF
    python benchmarks/bench_learning.py --gpu-speed          # GPU: seconds per epoch at 224 px / 16 frames,
                                                             # with and without --amp, side by side
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from mer_live.synthetic import make_dataset
from training import cli


def learning(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        make_dataset(root, "SMIC", subjects=args.subjects, clips_per_class=args.clips_per_class,
                     image_size=args.source_size, frames_range=(10, 30), seed=args.seed)
        out = Path(tmp) / "run"
        argv = [args.model, str(root), "SMIC", "--variant", args.variant, "-feature", "GRAY_OF",
                "-imgsize", str(args.image_size), "-num_frames", str(args.num_frames), "-bs", str(args.batch_size),
                "-lr", str(args.lr), "-ep", str(args.epochs), "--imbalanced_sampler", "--out", str(out),
                "--cache-dir", str(Path(tmp) / "cache"), "--seed", str(args.seed)]
        if args.subjects_subset:
            argv += ["--subjects", *args.subjects_subset]
        print("mer-train " + " ".join(argv))
        start = time.perf_counter()
        rc = cli.main(argv)
        seconds = time.perf_counter() - start
        if rc:
            raise SystemExit(rc)
        report = json.loads((out / "report.json").read_text())
    honest, selected = report["honest"], report["test_selected"]
    print(f"\n{args.model} ({args.variant}) on synthetic SMIC, {report['folds']} LOSO folds, {report['clips']} clips")
    print(f"honest LOSO (last epoch): UF1 {honest['uf1']:.3f}  UAR {honest['uar']:.3f}  Acc {honest['acc']:.3f}  "
          f"(goal UF1 >= 0.8)")
    print(f"test-selected (optimistic, as the seed reported): UF1 {selected['uf1']:.3f}")
    print(f"wall time: {seconds / 60:.1f} min (goal <= 15 min on 2 CPU cores)")


def gpu_speed(args: argparse.Namespace) -> None:
    """Seconds per training epoch at the paper's size, fp32 vs AMP, same clips, same run."""
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("--gpu-speed needs a CUDA GPU; none is visible here")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        make_dataset(root, "SMIC", subjects=2, clips_per_class=args.clips_per_class, image_size=224,
                     frames_range=(20, 40))
        results = {}
        for amp in (False, True):
            out = Path(tmp) / f"run_amp{int(amp)}"
            argv = [args.model, str(root), "SMIC", "--variant", args.gpu_variant, "-imgsize", "224",
                    "-num_frames", "16", "-bs", str(args.gpu_batch_size), "-ep", str(args.gpu_epochs), "-gpu", "0",
                    "--subjects", "s01", "--out", str(out), "--cache-dir", str(Path(tmp) / "cache"), "--no-progress"]
            if amp:
                argv.append("--amp")
            torch.cuda.synchronize()
            if cli.main(argv):
                raise SystemExit(1)
            result = json.loads((out / "folds" / "s01" / "result.json").read_text())
            results[amp] = result["seconds"] / result["epochs"]
        print(f"{args.model} ({args.gpu_variant}) 224 px, 16 frames, batch {args.gpu_batch_size}, "
              f"{torch.cuda.get_device_name()}:")
        print(f"  fp32: {results[False]:.2f} s/epoch   AMP: {results[True]:.2f} s/epoch   "
              f"speed-up {results[False] / results[True]:.2f}x")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="ch3_1_fusion_cnn_like")
    p.add_argument("--variant", default="nano")
    p.add_argument("--subjects", type=int, default=16)
    p.add_argument("--clips-per-class", type=int, default=3)
    p.add_argument("--source-size", type=int, default=64)
    p.add_argument("--image-size", type=int, default=28, help="7x7 patch tokens: one Swin window, no padding")
    p.add_argument("--num-frames", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--subjects-subset", nargs="+", default=None, help="only these folds (a quick look)")
    p.add_argument("--gpu-speed", action="store_true")
    p.add_argument("--gpu-variant", default="base")
    p.add_argument("--gpu-batch-size", type=int, default=1)
    p.add_argument("--gpu-epochs", type=int, default=2)
    args = p.parse_args()
    gpu_speed(args) if args.gpu_speed else learning(args)


if __name__ == "__main__":
    main()
