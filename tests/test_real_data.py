"""The real clips of tests/data/real are the files its README vouches for: the README gives each one's source,
licence and sha256, so a clip that is missing there, or changed since, has lost its licence trail. The
real-video benchmark runs only on such clips, and no file both tunes and judges."""
from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "data" / "real"


def listed_sha256() -> dict[str, str]:
    """file name -> sha256, from the README's "- `NAME`: `HEX`" lines."""
    text = (REAL / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^- `([^`/]+)`: `([0-9a-f]{64})`$", text, flags=re.MULTILINE))


def test_every_real_clip_has_its_sha256_in_the_readme():
    listed = listed_sha256()
    present = {path.name for path in REAL.iterdir() if path.is_file() and path.name != "README.md"}
    assert present == set(listed), {"not in README": present - set(listed), "missing": set(listed) - present}
    changed = [name for name, digest in listed.items()
               if hashlib.sha256((REAL / name).read_bytes()).hexdigest() != digest]
    assert not changed


def test_benchmark_runs_on_listed_clips_and_keeps_tuning_and_judging_apart():
    path = ROOT / "benchmarks" / "bench_real_spotting.py"
    spec = importlib.util.spec_from_file_location("bench_real_spotting", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    listed = listed_sha256()
    files = {split: {file for file, s in bench.VIDEOS.values() if s == split} for split in ("tune", "judge")}
    assert {split for _, split in bench.VIDEOS.values()} == {"tune", "judge"}
    assert not files["tune"] & files["judge"]
    assert files["tune"] | files["judge"] <= set(listed)
