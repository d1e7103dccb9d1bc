"""`mer-spot --calibrate`: the region spotter's settings chosen on the dataset itself, leave-one-subject-out.

The spotter's settings were tuned on synthetic faces; a user who holds CAS(ME)^2 or SAMM Long Videos can fit
them to real faces. Every point of a small grid of settings is run over every video (the run's own settings
are one of the points, and their results are the run's). Then, for each subject, the point with the best
score pooled over the OTHER subjects' videos (TP, FP and FN summed, then F1) scores that subject's videos,
so no video's figure comes from settings chosen on it; ties go to the point closest to the run's settings.
Pooled over all subjects, these are the calibrated figures the report gives beside the run's. The point
best on ALL videos is written as a `--spotter` file: what to use on new faces.

Why the whole engine runs per point: the decision settings also move the spotter's registration (its
reference is renewed only while no burst is open) and the engine's face box (held while one is), so the
decision cannot be replayed exactly from recorded measurements without changing the spotter. What can be
shared is shared: each video's decoded frames are kept in memory (up to FRAME_CACHE_BYTES) while every grid
point runs on it, and the points need no classifier (the spotter decides the events and their types).
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import math
from pathlib import Path
from typing import Mapping, Sequence

from mer_live.spot_eval.catalog import KINDS
from mer_live.spot_eval.scoring import Counts
from mer_live.spot_eval.source import LongVideoSource
from mer_live.streaming.spotter_settings import (FIELDS, SpotterSettingsError, read_small_json, setting_value,
                                                 spotter_settings)
from mer_live.streaming.spotting import SpotterConfig

# The default grid: the two thresholds that decide most (what opens a burst, what a burst must reach to
# count), each at 0.8, 1 and 1.25 times the run's own value: 9 points around the run's settings, those
# included. A grid file gives other settings or values (e.g. {"hold_s": [1.0, 2.0]}).
DEFAULT_FACTORS = {"open_threshold": (0.8, 1.0, 1.25), "threshold": (0.8, 1.0, 1.25)}
SCORES = ("micro", "macro", "overall")      # the F1 that calibration maximises (--calibrate-score)
MAX_POINTS = 64                             # a grid this large already costs 64 runs of the dataset
CALIBRATION_DIR = "calibration"             # OUT/calibration/<point>/videos/<video>.json
SETTINGS_FILE = "calibrated-spotter.json"   # OUT/calibrated-spotter.json: the settings chosen on all subjects
FRAME_CACHE_BYTES = 1 << 30                 # decoded frames of one video kept for its grid points


class CalibrationError(ValueError):
    """A grid or a dataset calibration cannot use, with what is wrong and the fix in one line."""


# ------------------------------------------------------------------------------------------- the grid

@dataclasses.dataclass(frozen=True)
class Grid:
    """Candidate values per setting (each list sorted, the base's value among them) and the base settings."""

    base: SpotterConfig
    values: dict[str, tuple]

    def points(self) -> list[SpotterConfig]:
        """Every combination, in the grid's order (the first setting varies slowest)."""
        names = list(self.values)
        out = []
        for combo in itertools.product(*(self.values[n] for n in names)):
            change = dict(zip(names, combo))
            try:
                out.append(dataclasses.replace(self.base, **change))
            except ValueError as exc:
                raise CalibrationError(f"calibration grid: the point {_describe(change)} is not valid ({exc}); "
                                       f"change those values in the grid") from None
        return out

    def distance(self, point: SpotterConfig) -> int:
        """Grid steps from the base (the sum over settings of how many values apart): the tie-break."""
        return sum(abs(vals.index(getattr(point, n)) - vals.index(getattr(self.base, n)))
                   for n, vals in self.values.items())

    def name(self, point: SpotterConfig) -> str:
        """"open_threshold=4,threshold=6": the point's grid values (a folder name and the report's label)."""
        return ",".join(f"{n}={_fmt(getattr(point, n))}" for n in self.values)

    def change(self, point: SpotterConfig) -> dict:
        return {n: getattr(point, n) for n in self.values}

    def to_dict(self) -> dict:
        return {n: list(v) for n, v in self.values.items()}


def _fmt(value) -> str:
    return str(value).lower() if isinstance(value, bool) else f"{value:g}"


def _describe(change: Mapping) -> str:
    return ", ".join(f"{n}={_fmt(v)}" for n, v in change.items())


def default_grid(base: SpotterConfig) -> Grid:
    """DEFAULT_FACTORS around `base` (the run's settings)."""
    values = {n: tuple(sorted({round(getattr(base, n) * f, 6) for f in factors}))
              for n, factors in DEFAULT_FACTORS.items()}
    return make_grid(base, values)


def make_grid(base: SpotterConfig, values: Mapping[str, Sequence]) -> Grid:
    """A Grid of `values`, each list sorted without repeats and given the base's value if it lacks it."""
    out = {}
    for name, vals in values.items():
        typed = {setting_value(name, v, "calibration grid") for v in vals} | {getattr(base, name)}
        out[name] = tuple(sorted(typed))
    grid = Grid(base, out)
    count = math.prod(len(v) for v in out.values())
    if count > MAX_POINTS:
        raise CalibrationError(f"calibration grid: {count} points (with the run's own values added) is more than "
                               f"{MAX_POINTS}, and each point runs the whole dataset; give fewer values")
    grid.points()                       # every combination must be valid settings
    return grid


def load_grid(path: str | Path, base: SpotterConfig) -> Grid:
    """A grid file: a JSON object of setting -> list of values, e.g. {"threshold": [5, 6, 7]}."""
    path = Path(path)
    where = f"--calibrate-grid {path}"
    example = 'e.g. {"threshold": [5, 6, 7], "open_threshold": [4, 5]}'
    data = read_small_json(path, where, "a grid file", CalibrationError)
    if not isinstance(data, dict) or not data:
        raise CalibrationError(f"{where}: must be a JSON object of setting -> list of values, {example}")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise CalibrationError(f"{where}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    for name, vals in data.items():
        if not isinstance(vals, list) or not vals:
            raise CalibrationError(f"{where}: {name} must be a non-empty list of values, got {vals!r} ({example})")
    try:
        for name, vals in data.items():
            for v in vals:
                setting_value(name, v, where)
        return make_grid(base, data)
    except SpotterSettingsError as exc:
        raise CalibrationError(str(exc)) from None
    except CalibrationError as exc:
        raise CalibrationError(str(exc).replace("calibration grid", where, 1)) from None


# ------------------------------------------------------------------------------ leave-one-subject-out

def best_point(table: Sequence[Mapping[str, Mapping[str, Counts]]], videos: Sequence[str], score: str,
               distances: Sequence[int]) -> int:
    """Index of the point whose counts pooled over `videos` give the highest F1 of `score` (a KINDS type or
    "overall"); ties go to the smallest distance (the point closest to the run's settings), then the first."""
    def f1(i):
        return pooled_counts(table[i], videos, score).f1

    return min(range(len(table)), key=lambda i: (-f1(i), distances[i], i))


def pooled_counts(per_video: Mapping[str, Mapping[str, Counts]], videos: Sequence[str], score: str) -> Counts:
    kinds = KINDS if score == "overall" else (score,)
    return sum((per_video[v][k] for v in videos for k in kinds), Counts())


def loso_choices(table: Sequence[Mapping[str, Mapping[str, Counts]]], subject_of: Mapping[str, str], score: str,
                 distances: Sequence[int]) -> dict[str, int]:
    """For each subject, the point chosen on the other subjects' videos (best_point); needs 2 subjects."""
    subjects = sorted(set(subject_of.values()))
    if len(subjects) < 2:
        raise CalibrationError(f"--calibrate holds one subject out at a time, so it needs videos of at least 2 "
                               f"subjects; these videos are all of {subjects[0] if subjects else 'none'}")
    return {s: best_point(table, [v for v, t in subject_of.items() if t != s], score, distances) for s in subjects}


# ----------------------------------------------------------------------------------- running the grid

class _CachedSource(LongVideoSource):
    """A LongVideoSource whose decoded frames are kept in `cache` (shared by the runs of one video) until it
    holds FRAME_CACHE_BYTES; the frames are read-only, so no run can change what the next one sees."""

    def __init__(self, video, cache: dict):
        super().__init__(video)
        self._cache = cache

    def _read_rgb(self):
        index = self._index
        if index in self._cache:
            return self._cache[index]
        rgb = super()._read_rgb()
        if rgb is not None and self._cache.get("bytes", 0) + rgb.nbytes <= FRAME_CACHE_BYTES:
            rgb.setflags(write=False)
            self._cache[index] = rgb
            self._cache["bytes"] = self._cache.get("bytes", 0) + rgb.nbytes
        return rgb


def point_dir(out_dir: Path, grid: Grid, point: SpotterConfig) -> Path:
    """Where a point's per-video results go; the run's own settings use the run's folder."""
    from mer_live.spot_eval.runner import safe_name

    if point == grid.base:
        return Path(out_dir)
    return Path(out_dir) / CALIBRATION_DIR / safe_name(grid.name(point).replace(",", "__"))


def run_grid(videos, out_dir: Path, grid: Grid, engine_config, settings: dict, quiet: bool = False) -> list[list[dict]]:
    """Run every point but the base over every video that has no result for it yet (video by video, so each
    video's frames are decoded once), one result file each as it finishes (an interrupted calibration
    resumes); returns results[point][video] for all points, the base's read from `out_dir`."""
    from mer_live.atomic import write_text_atomic
    from mer_live.progress import progress, write
    from mer_live.spot_eval.runner import check_run_settings, engine_settings, load_result, result_path, run_video

    points = grid.points()
    configs = [dataclasses.replace(engine_config, spotter=p, classify_windows=False) for p in points]
    dirs = [point_dir(out_dir, grid, p) for p in points]
    for point, config, folder in zip(points, configs, dirs):
        if point != grid.base:
            check_run_settings(folder, {**settings, "model": None, "engine": engine_settings(config),
                                        "spotter_file": None, "calibration_point": grid.change(point)})
    todo = [(v, i) for v in videos for i, p in enumerate(points)
            if p != grid.base and not result_path(dirs[i], v.video_id).is_file()]
    bar = progress(total=len(todo), unit="run", desc="mer-spot --calibrate", disable=quiet)
    frames = _NullBar()
    try:
        for video, group in itertools.groupby(todo, key=lambda pair: pair[0]):
            cache: dict = {}
            for _, i in group:
                bar.set_postfix_str(f"{video.video_id} {grid.name(points[i])}")
                result = run_video(video, None, configs[i], frames, source=_CachedSource(video, cache))
                write_text_atomic(result_path(dirs[i], video.video_id), json.dumps(result, indent=1))
                for message in result["engine"]["errors"]:
                    write(f"mer-spot --calibrate: {video.video_id} ({grid.name(points[i])}): error: {message}")
                bar.update(1)
    finally:
        bar.close()
    return [[load_result(folder, v.video_id) for v in videos] for folder in dirs]


class _NullBar:
    """The per-frame bar run_video updates; calibration counts runs instead."""

    def update(self, n: int = 1) -> None:
        pass


# ----------------------------------------------------------------------------------- figures, report

def counts_table(results: Sequence[Sequence[dict]], conventions) -> list[dict[str, dict[str, Counts]]]:
    """table[point][video_id][kind]: each run's MEGC counts under the report's conventions."""
    from mer_live.spot_eval.evaluation import evaluate_video

    table = []
    for per_point in results:
        row = {}
        for result in per_point:
            matches = evaluate_video(result, conventions).matches
            row[result["video_id"]] = {k: matches[k].counts for k in KINDS}
        table.append(row)
    return table


def calibrate(results: Sequence[Sequence[dict]], grid: Grid, conventions, score: str = "micro",
              settings_path: Path | None = None, limits=None) -> dict:
    """Choose per subject (leave-one-subject-out) and on all subjects; the calibration part of the report.

    `results[point][video]`: every point's results (grid.points() order, videos in one order). Writes the
    settings chosen on all subjects to `settings_path` (a --spotter file) when given."""
    from mer_live.spot_eval.report import summarize
    from mer_live.streaming.spotter_settings import write_spotter_settings

    if score not in SCORES:
        raise CalibrationError(f"--calibrate-score {score}: choose one of {', '.join(SCORES)}")
    points = grid.points()
    table = counts_table(results, conventions)
    subject_of = {r["video_id"]: str(r["subject"]) for r in results[0]}
    distances = [grid.distance(p) for p in points]
    chosen = loso_choices(table, subject_of, score, distances)
    everyone = best_point(table, list(subject_of), score, distances)
    calibrated = [results[chosen[subject_of[r["video_id"]]]][k] for k, r in enumerate(results[0])]
    summary = summarize(calibrated, conventions, limits)
    if settings_path is not None:
        write_spotter_settings(settings_path, points[everyone])
    base = points.index(grid.base)
    return {"score": score, "grid": grid.to_dict(), "points": len(points),
            "base": grid.change(grid.base),
            "subjects": {s: {"settings": grid.change(points[i]), "point": grid.name(points[i]),
                             "videos": sorted(v for v, t in subject_of.items() if t == s),
                             "held_in_f1": pooled_counts(table[i], [v for v, t in subject_of.items() if t != s],
                                                         score).f1}
                         for s, i in chosen.items()},
            "all_subjects": {"settings": grid.change(points[everyone]), "point": grid.name(points[everyone]),
                             "f1": pooled_counts(table[everyone], list(subject_of), score).f1,
                             "base_f1": pooled_counts(table[base], list(subject_of), score).f1,
                             "file": str(settings_path) if settings_path is not None else None,
                             "spotter": spotter_settings(points[everyone])},
            "summary": {"counts": summary["counts"], "any_type": summary["any_type"],
                        "false_per_minute": summary["false_per_minute"], "delay": summary["delay"]}}
