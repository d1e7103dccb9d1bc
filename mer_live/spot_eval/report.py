"""The run's report: `report.json` (everything) and `report.md` (what a reader needs), built from the
stored per-video results alone, plus each video's timeline PNG. Both files are written atomically."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Sequence

from mer_live.atomic import write_text_atomic
from mer_live.spot_eval.catalog import KINDS
from mer_live.spot_eval.conventions import Conventions
from mer_live.spot_eval.evaluation import evaluate_video
from mer_live.spot_eval.live_metrics import delay_stats, per_minute
from mer_live.spot_eval.records import ReaderNote
from mer_live.spot_eval.runner import describe_unreadable, safe_name, unreadable_frames
from mer_live.spot_eval.scoring import Counts, pooled
from mer_live.spot_eval.timeline import draw_timeline
from mer_live.spot_eval.type_limits import TypeLimits, best_recall, unmatchable_counts

TIMELINES_DIR = "timelines"
TIMELINES_STAMP = "conventions.json"      # the conventions the timelines were drawn under

ANCHORS = ("Published anchors, for context: the MEGC2020 baseline (MDMD) reaches micro F1 .008 on CAS(ME)^2 "
           "(.036 on SAMM Long Videos); the best offline methods reach about .12-.25 micro F1 (SOFTNet .117 / "
           ".152, MTSN .081 / .088; overall F1 up to .36 / .29). All of them threshold with the whole video in "
           "hand; none is causal. mer-spot scores the live engine, which sees each frame once and never looks "
           "ahead, so these anchors are a ceiling for an offline spotter rather than a like-for-like rival, and "
           "they apply only to the real datasets (not to synthetic videos).")


def timeline_path(out_dir: Path, video_id: str) -> Path:
    return Path(out_dir) / TIMELINES_DIR / f"{safe_name(video_id)}.png"


def draw_video_timeline(out_dir: Path, result: dict, conventions: Conventions = Conventions()) -> Path:
    path = timeline_path(out_dir, result["video_id"])
    draw_timeline(result, evaluate_video(result, conventions), path)
    return path


def watched_share(result: dict) -> float | None:
    """The share of a video's face frames that the spotter watched (None in results of an older mer-spot)."""
    watch = result["engine"].get("watch") or {}
    total = sum(watch.values())
    return watch.get("watching", 0) / total if total else None


def type_limit_rows(results: Sequence[dict], evaluations, limits: TypeLimits,
                    conventions: Conventions) -> dict:
    """Per dataset and type (and "all" types of a dataset): the annotations the type rules can never match,
    the best recall a perfect detector reaches under those rules, and the recall reached."""
    unmatchable = unmatchable_counts(results, limits, conventions)
    rows = {}
    for dataset, per_kind in unmatchable.items():
        tp = {kind: sum(e.matches[kind].counts.tp for r, e in zip(results, evaluations)
                        if r.get("dataset", "?") == dataset) for kind in KINDS}
        per_kind = {**per_kind, "all": {key: sum(per_kind[k][key] for k in KINDS) for key in per_kind[KINDS[0]]}}
        tp["all"] = sum(tp.values())
        rows[dataset] = {kind: {**row, "best_recall": best_recall(row["annotated"], row["unmatchable"]),
                                "recall": tp[kind] / row["annotated"] if row["annotated"] else 0.0}
                         for kind, row in per_kind.items()}
    return {**limits.to_dict(), "datasets": rows}


def summarize(results: Sequence[dict], conventions: Conventions = Conventions(),
              limits: TypeLimits | None = None) -> dict:
    """Pooled MEGC counts per type, the F1 that ignores type, delays, false events per minute and per-video
    rows; with `limits` (the run's spotter's), the annotations its type rules can never match. False events
    per minute of a type are over the minutes of the videos that count for that type."""
    evaluations = [evaluate_video(r, conventions) for r in results]
    counts = pooled([e.matches for e in evaluations], KINDS)
    any_type = sum((e.any_type for e in evaluations), Counts())
    seconds = sum(r["duration_s"] for r in results)
    scored_seconds = {kind: sum(r["duration_s"] for r, e in zip(results, evaluations) if kind in e.scored_kinds)
                      for kind in KINDS}
    scored_seconds["overall"] = sum(r["duration_s"] for r, e in zip(results, evaluations) if e.scored_kinds)
    delays = {kind: [d for e in evaluations for d in e.delays_s[kind]] for kind in KINDS}
    delays["overall"] = delays["micro"] + delays["macro"]
    false_on_blinks = sum(e.false_on_blinks for e in evaluations)
    blink_count = sum(len(r.get("blinks", [])) for r in results)
    videos = []
    for result, evaluation in zip(results, evaluations):
        video_counts = {kind: evaluation.matches[kind].counts for kind in KINDS}
        video_counts["overall"] = sum(video_counts.values(), Counts())
        videos.append({"video_id": result["video_id"], "minutes": result["duration_s"] / 60,
                       "counts": {k: c.to_dict() for k, c in video_counts.items()},
                       "scored_kinds": list(evaluation.scored_kinds),
                       "false_per_minute": per_minute(video_counts["overall"].fp, result["duration_s"]),
                       "false_on_blinks": evaluation.false_on_blinks, "blinks": len(result.get("blinks", [])),
                       "warnings": result["engine"]["warning_count"], "errors": result["engine"]["errors"],
                       "unreadable_frames": unreadable_frames(result), "unreadable": describe_unreadable(result),
                       "watched": watched_share(result), "wall_s": result["wall_s"]})
    return {"videos": len(results), "minutes": seconds / 60,
            "counts": {k: c.to_dict() for k, c in counts.items()}, "any_type": any_type.to_dict(),
            "type_limits": None if limits is None else type_limit_rows(results, evaluations, limits, conventions),
            "delay": {k: delay_stats(v) for k, v in delays.items()},
            "false_per_minute": {k: per_minute(counts[k].fp, scored_seconds[k]) for k in (*KINDS, "overall")},
            "blinks": {"annotated": blink_count, "false_micro_on_blinks": false_on_blinks},
            "unreadable_frames": sum(row["unreadable_frames"] for row in videos),
            "per_video": videos}


def write_report(out_dir: Path, run_info: dict, results: Sequence[dict], notes: Sequence[ReaderNote],
                 conventions: Conventions = Conventions(), calibration: dict | None = None) -> dict:
    """Draw missing timelines (all of them when the conventions changed since they were drawn), then write
    report.json and report.md; returns the report's dict. `calibration`: what calibration.calibrate
    returned (`mer-spot --calibrate`), reported beside the run's figures."""
    out_dir = Path(out_dir)
    stamp = out_dir / TIMELINES_DIR / TIMELINES_STAMP
    stamp_text = json.dumps(conventions.to_dict(), sort_keys=True)
    redraw = (stamp.read_text(encoding="utf-8") if stamp.is_file() else stamp_text) != stamp_text
    for result in results:
        if redraw or not timeline_path(out_dir, result["video_id"]).is_file():
            draw_video_timeline(out_dir, result, conventions)
    write_text_atomic(stamp, stamp_text)
    run_info = {**run_info, "conventions": conventions.to_dict()}
    limits = TypeLimits.from_engine(run_info.get("engine"))
    report = {"run": run_info, "summary": summarize(results, conventions, limits),
              "conventions": conventions.describe(),
              "reader_notes": [{"category": n.category, "text": n.text} for n in notes], "anchors": ANCHORS}
    if calibration is not None:
        report["calibration"] = calibration
    write_text_atomic(out_dir / "report.json", json.dumps(report, indent=1))
    write_text_atomic(out_dir / "report.md", markdown(report))
    return report


def _f(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _share(value) -> str:
    return "-" if value is None else f"{value:.0%}"


def _type_limit_lines(limits: dict | None) -> list[str]:
    if not limits:
        return []
    lines = ["", "### What the type rules can never match", "",
             f"The spotter calls a segment micro when it lasts at most {limits['max_micro_s']:g} s and macro when "
             f"it lasts more than that and at most {limits['max_macro_s']:g} s (`max_micro_s`, `max_macro_s`); an "
             "annotation outside its type's limits (length (offset - onset + 1) / fps) cannot be a true positive. "
             "`best recall` is what a perfect detector would reach under these rules.", "",
             "| dataset | type | annotated | never matchable | too long | too short | best recall | recall |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for dataset, per_kind in limits["datasets"].items():
        for kind, row in per_kind.items():
            lines.append(f"| {dataset} | {kind} | {row['annotated']} | {row['unmatchable']} | {row['too_long']} | "
                         f"{row['too_short']} | {_f(row['best_recall'])} | {_f(row['recall'])} |")
    return lines


def _calibration_lines(calibration: dict | None, default_counts: dict) -> list[str]:
    """The calibration section (`mer-spot --calibrate`): calibrated figures beside the run's, the choices per
    subject."""
    if not calibration:
        return []
    counts = calibration["summary"]["counts"]
    score = calibration["score"]
    every = calibration["all_subjects"]

    def cell(c):
        return f"**{c['f1']:.3f}** (P {c['precision']:.3f}, R {c['recall']:.3f})"

    lines = ["", "## Calibrated settings (leave-one-subject-out)", "",
             f"Each of {calibration['points']} grid points ({_grid_text(calibration['grid'])}) ran over every video. "
             f"For each subject, the point with the best {score} F1 pooled over the other subjects' videos scored "
             "that subject's videos (ties: the point closest to the run's settings), so no figure below comes "
             "from settings chosen on its own video. Pooled over all subjects:", "",
             "| type | run's settings: F1 (P, R) | calibrated: F1 (P, R) |", "|---|---:|---:|"]
    for kind in (*KINDS, "overall"):
        lines.append(f"| {kind} | {cell(default_counts[kind])} | {cell(counts[kind])} |")
    lines += ["", "| subject | videos | settings chosen on the others | their " + score + " F1 there |",
              "|---|---:|---|---:|"]
    for subject, row in calibration["subjects"].items():
        lines.append(f"| {subject} | {len(row['videos'])} | {row['point']} | {row['held_in_f1']:.3f} |")
    lines += ["", f"Chosen on all subjects: {every['point']} ({score} F1 {every['f1']:.3f} on all videos, against "
                  f"{every['base_f1']:.3f} with the run's settings; not a held-out figure)"
              + (f", written to `{every['file']}` (use it with `--spotter`)." if every["file"] else ".")]
    return lines


def _grid_text(grid: dict) -> str:
    return "; ".join(f"{n} in {', '.join(_setting(v) for v in vals)}" for n, vals in grid.items())


def _setting(value) -> str:
    return str(value).lower() if isinstance(value, bool) else f"{value:g}"


def markdown(report: dict) -> str:
    run, summary = report["run"], report["summary"]
    counts, delay, fpm = summary["counts"], summary["delay"], summary["false_per_minute"]
    lines = [f"# mer-spot: {run['title']}", "",
             f"{summary['videos']} videos ({summary['minutes']:.1f} min) from `{run['data_path']}`; "
             f"model: {run['classifier']}; engine: mer_live {run['mer_live_version']}"
             + (f" (commit {run['commit']})" if run.get("commit") else "") + ".", ""]
    damaged = [row for row in summary["per_video"] if row.get("unreadable_frames")]
    if damaged:
        lines += [f"**Damaged input:** {summary['unreadable_frames']} unreadable frame(s) in {len(damaged)} "
                  "video(s) were skipped (their time passes, their picture is missing), so those videos' scores "
                  "are not those of the intact dataset: "
                  + "; ".join(f"{row['video_id']}: {row['unreadable']}" for row in damaged[:10])
                  + ("; ..." if len(damaged) > 10 else "") + ". Replace them from the original dataset.", ""]
    lines += ["## MEGC scores", "",
             "A spotted interval is a true positive when its IoU with an annotated interval of the same type is "
             ">= 0.5 (frames counted inclusively), one to one (a maximum matching); counts are pooled over all "
             "videos.", "", "Conventions that published figures differ on:", ""]
    lines += [f"- {line}" for line in report.get("conventions", Conventions().describe())]
    lines += ["",
             "| type | annotated | spotted | TP | precision | recall | F1 |", "|---|---:|---:|---:|---:|---:|---:|"]
    for kind in (*KINDS, "overall"):
        c = counts[kind]
        lines.append(f"| {kind} | {c['annotated']} | {c['predicted']} | {c['tp']} | {_f(c['precision'])} | "
                     f"{_f(c['recall'])} | **{_f(c['f1'])}** |")
    any_type = summary.get("any_type")
    if any_type:
        lines += ["", f"**Any-type F1: {_f(any_type['f1'])}** (precision {_f(any_type['precision'])}, recall "
                      f"{_f(any_type['recall'])}, {any_type['tp']} TP of {any_type['annotated']} annotated and "
                      f"{any_type['predicted']} spotted): a spotted interval of either type matches an annotated "
                      "interval of either type with IoU >= 0.5, one to one; its gap to the overall F1 is "
                      "what the type calls cost."]
    lines += _type_limit_lines(summary.get("type_limits"))
    lines += _calibration_lines(report.get("calibration"), counts)
    lines += ["", "## Live figures", "",
              "What no published spotter reports: the delay from each matched annotation's offset to the moment "
              "the engine reported the event (stream time), and the false events a user sees per minute.", "",
              "| | micro | macro | overall |", "|---|---:|---:|---:|",
              "| matched events | " + " | ".join(str(delay[k]["count"]) for k in (*KINDS, "overall")) + " |",
              "| delay after the true offset, median (s) | "
              + " | ".join(_f(delay[k]["median_s"], 2) for k in (*KINDS, "overall")) + " |",
              "| delay after the true offset, p95 (s) | "
              + " | ".join(_f(delay[k]["p95_s"], 2) for k in (*KINDS, "overall")) + " |",
              "| false events per minute | " + " | ".join(_f(fpm[k], 2) for k in (*KINDS, "overall")) + " |", ""]
    blinks = summary["blinks"]
    if blinks["annotated"]:
        lines += [f"Annotated blinks: {blinks['annotated']}; false micro events on a blink: "
                  f"{blinks['false_micro_on_blinks']} (of {counts['micro']['fp']} false micro events).", ""]
    lines += ["## Context", "", report["anchors"], "",
              "## Per video", "",
              "`watched`: the share of the video's face frames on which the spotter was watching (not settling "
              "after a new face or a pause, nor paused for head motion it could not undo); an event in the rest "
              "cannot be spotted.", "",
              "| video | min | micro annotated / spotted / TP | macro annotated / spotted / TP | false / min "
              "| watched | timeline |",
              "|---|---:|---:|---:|---:|---:|---|"]
    for row in summary["per_video"]:
        scored = row.get("scored_kinds", KINDS)
        cells = [(lambda c: f"{c['annotated']} / {c['predicted']} / {c['tp']}")(row["counts"][k]) if k in scored
                 else "not scored" for k in KINDS]
        png = f"{TIMELINES_DIR}/{safe_name(row['video_id'])}.png"
        flag = (" (engine error)" if row["errors"] else "") + (
            f" ({row['unreadable']})" if row.get("unreadable_frames") else "")
        lines.append(f"| {row['video_id']}{flag} | {row['minutes']:.2f} | {cells[0]} | {cells[1]} | "
                     f"{row['false_per_minute']:.2f} | {_share(row.get('watched'))} | [png]({png}) |")
    notes = Counter(n["category"] for n in report["reader_notes"])
    if notes:
        lines += ["", "## What the reader fixed or left out", "",
                  "Each case is listed in report.json (`reader_notes`)."]
        lines += [f"- {category}: {count}" for category, count in sorted(notes.items())]
    lines += ["", "## Settings", "",
              f"Spotter settings: {'`' + run['spotter_file'] + '`' if run.get('spotter_file') else 'the defaults'}"
              " (all of them below, under `spotter`).", "",
              "```", json.dumps(run["engine"], indent=1, sort_keys=True), "```", ""]
    return "\n".join(lines)
