"""Cold vs warm start of the quick start's `mer-live --demo --headless`, side by side, in one run.

Where do a first run's seconds go? Each run is a fresh process; its own start-up lines ("ready after ... (demo
stream, model, face detector)") give the steps, `python -X importtime` the imports. "Cold" means the page cache
holds none of the venv's files: with --evict they are dropped with posix_fadvise(DONTNEED) before the run (no
root needed; it only works for files no other process has mapped, so evict a venv of your own, e.g. a copy),
and the project's __pycache__ folders are removed. "Warm" is the same command run again at once.

    python benchmarks/bench_cold_start.py --python /path/to/venv/bin/python [--evict] [--runs 2]

Compare venvs in one call (e.g. the CUDA quick start and the CPU-only install) by giving --python twice.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["-X", "importtime", "-m", "gui.cli", "--demo", "--headless"]
IMPORTS = ("torch", "torchvision", "facenet_pytorch", "onnxruntime", "cv2", "mer_live.synthetic")
READY = re.compile(r"ready after ([\d.]+) s \(([^)]*)\)")


def site_packages(python: str) -> Path:
    out = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def evict(folder: Path) -> int:
    """Drop `folder`'s files from the page cache; the bytes asked to drop."""
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                total += os.fstat(fd).st_size
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    return total


def clear_pycache() -> None:
    for cache in ROOT.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def cumulative_imports(stderr: str) -> dict[str, float]:
    """Seconds of each top-level import in IMPORTS (its first, cumulative entry)."""
    seconds: dict[str, float] = {}
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (part.strip() for part in line.split("|"))
            if name in IMPORTS and name not in seconds and cumulative.isdigit():
                seconds[name] = int(cumulative) / 1e6
    return seconds


def run_once(python: str, label: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start, cpu_start = time.perf_counter(), os.times()
    child = subprocess.run([python, *COMMAND], cwd=ROOT, env=env, capture_output=True, text=True)
    cpu_end = os.times()
    wall = time.perf_counter() - start
    if child.returncode != 0:
        sys.exit(f"{label}: mer-live failed ({child.returncode}):\n{child.stderr[-2000:]}")
    ready = READY.search(child.stderr)
    steps = dict((name.rsplit(" ", 2)[0], float(name.rsplit(" ", 2)[1]))
                 for name in ready.group(2).split(", ")) if ready else {}
    return {"label": label, "wall": wall, "cpu": (cpu_end.children_user + cpu_end.children_system)
            - (cpu_start.children_user + cpu_start.children_system),
            "ready": float(ready.group(1)) if ready else float("nan"), "steps": steps,
            "imports": cumulative_imports(child.stderr)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", action="append", default=None,
                        help="a venv's python (repeat to compare venvs; default: this python)")
    parser.add_argument("--evict", action="store_true", help="drop the venv's files from the page cache first")
    parser.add_argument("--runs", type=int, default=2, help="runs per venv: the first cold, the rest warm")
    args = parser.parse_args()
    rows = []
    for python in args.python or [sys.executable]:
        for i in range(args.runs):
            cold = i == 0
            if cold:
                clear_pycache()
                if args.evict:
                    dropped = evict(site_packages(python))
                    print(f"evicted {dropped / 1e9:.2f} GB of {site_packages(python)} from the page cache",
                          file=sys.stderr)
            rows.append(run_once(python, f"{Path(python).parent.parent.name} {'cold' if cold else 'warm'}"))
    names = sorted({k for r in rows for k in r["steps"]})
    header = ["run", "wall s", "cpu s", "ready s", *names, *(f"import {m}" for m in IMPORTS)]
    table = [header] + [[r["label"], f"{r['wall']:.1f}", f"{r['cpu']:.1f}", f"{r['ready']:.1f}",
                         *(f"{r['steps'].get(n, float('nan')):.1f}" for n in names),
                         *(f"{r['imports'].get(m, float('nan')):.1f}" for m in IMPORTS)] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))


if __name__ == "__main__":
    main()
