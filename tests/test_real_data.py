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


def load_bench():
    path = ROOT / "benchmarks" / "bench_real_spotting.py"
    spec = importlib.util.spec_from_file_location("bench_real_spotting", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_benchmark_runs_on_listed_clips_and_keeps_tuning_and_judging_apart():
    bench = load_bench()
    listed = listed_sha256()
    files = {split: {file for file, s in bench.VIDEOS.values() if s == split} for split in ("tune", "judge")}
    assert {split for _, split in bench.VIDEOS.values()} == {"tune", "judge"}
    assert not files["tune"] & files["judge"]
    assert files["tune"] | files["judge"] <= set(listed)


def test_joined_clips_cuts_come_from_their_period_or_their_listed_times(monkeypatch):
    """A clip of unequal takes has its cuts where its list says, not on a period; a clip of equal takes keeps
    its period; a single take has none."""
    bench = load_bench()
    assert not set(bench.CUT_TIMES_S) & set(bench.CUTS_EVERY_S)
    assert set(bench.CUT_TIMES_S) | set(bench.CUTS_EVERY_S) <= set(bench.VIDEOS)
    for times in bench.CUT_TIMES_S.values():
        assert list(times) == sorted(set(times)) and times[0] > 0
    before, after = bench.CUT_BEFORE_S, bench.CUT_AFTER_S
    grid = bench.cut_spans("grid_s1_joined", 87.0)
    assert len(grid) == 29 and grid[0] == (3.0 - before, 3.0 + after)
    monkeypatch.setitem(bench.CUT_TIMES_S, "uneven", (2.5, 4.25, 9.0))
    assert bench.cut_spans("uneven", 8.0) == [(2.5 - before, 2.5 + after), (4.25 - before, 4.25 + after)]
    assert bench.cut_spans("wolfgang", 19.7) == []
