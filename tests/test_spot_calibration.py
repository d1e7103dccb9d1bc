"""`mer-spot --calibrate`: the spotter's settings chosen leave-one-subject-out (mer_live.spot_eval.calibration):
the choice never sees the held-out subject, ties go to the run's settings, grid files are checked, and the
report gives the calibrated figures beside the run's with a --spotter file of the settings chosen on all."""
from __future__ import annotations

import json

import pytest

from mer_live.spot_eval import calibration, runner
from mer_live.spot_eval.calibration import CalibrationError, best_point, load_grid, loso_choices, make_grid
from mer_live.spot_eval.conventions import Conventions
from mer_live.spot_eval.scoring import Counts
from mer_live.spot_eval.synthetic import make_long_videos
from mer_live.streaming.spotter_settings import load_spotter_settings, write_spotter_settings
from mer_live.streaming.spotting import SpotterConfig

from spot_cli_helpers import TINY, run, strict_json


def counts(annotated, predicted, tp):
    return {"micro": Counts(annotated, predicted, tp), "macro": Counts()}


# ------------------------------------------------------------------------------ the choice, on stub counts

def test_each_subject_is_scored_with_the_point_best_on_the_others():
    # point 1 is perfect on subject A's (many) expressions and finds nothing of B's or C's; point 2 the reverse.
    # On all videos point 1 wins (5 of 7), so a choice that saw A would give A point 1.
    table = [{"a1": counts(5, 0, 0), "b1": counts(1, 0, 0), "c1": counts(1, 0, 0)},     # the run's settings
             {"a1": counts(5, 5, 5), "b1": counts(1, 1, 0), "c1": counts(1, 1, 0)},
             {"a1": counts(5, 1, 0), "b1": counts(1, 1, 1), "c1": counts(1, 1, 1)}]
    subject_of = {"a1": "A", "b1": "B", "c1": "C"}
    assert best_point(table, list(subject_of), "micro", [0, 1, 1]) == 1
    chosen = loso_choices(table, subject_of, "micro", [0, 1, 1])
    assert chosen["A"] == 2                    # chosen on B and C, who agree on point 2
    assert chosen["B"] == 1 and chosen["C"] == 1   # A's five expressions outweigh the other one


def test_ties_go_to_the_point_closest_to_the_run_settings():
    table = [{"a1": counts(2, 0, 0), "b1": counts(2, 0, 0)} for _ in range(3)]
    assert best_point(table, ["a1", "b1"], "micro", [2, 0, 1]) == 1
    assert loso_choices(table, {"a1": "A", "b1": "B"}, "micro", [1, 2, 0]) == {"A": 2, "B": 2}


def test_one_subject_is_a_one_line_error():
    table = [{"a1": counts(1, 1, 1), "a2": counts(1, 1, 1)}]
    with pytest.raises(CalibrationError, match="at least 2 subjects"):
        loso_choices(table, {"a1": "A", "a2": "A"}, "micro", [0])


# ------------------------------------------------------------------------------------------- the grid

def test_the_grid_holds_the_run_settings_and_measures_steps_from_them():
    base = SpotterConfig(threshold=6.0)
    grid = make_grid(base, {"threshold": [7, 5], "hold_s": [1.0]})
    assert grid.values == {"threshold": (5.0, 6.0, 7.0), "hold_s": (1.0, 2.0)}
    points = grid.points()
    assert len(points) == 6 and base in points
    assert grid.distance(SpotterConfig(threshold=7.0, hold_s=1.0)) == 2
    default = calibration.default_grid(base)
    assert default.values["threshold"] == (4.8, 6.0, 7.5) and len(default.points()) == 9


@pytest.mark.parametrize("text, message", [
    ('{"treshold": [5, 6]}', "unknown setting(s) treshold; known: open_threshold, threshold"),
    ('{"threshold": 5}', "threshold must be a non-empty list of values, got 5"),
    ('{"threshold": []}', "threshold must be a non-empty list of values"),
    ('{"threshold": [5, "six"]}', "threshold must be a number, got 'six'"),
    ('{"size": [64, 70.5]}', "size must be a whole number, got 70.5"),
    ('{"max_macro_s": [0.3, 4]}',
     "the point max_macro_s=0.3 is not valid (spotter max_macro_s must be >= max_micro_s)"),
    ('{"threshold": [1, 2, 3, 4, 5, 6, 7, 8], "hold_s": [1, 3, 4, 5, 6, 7, 8, 9]}', "72 points"),
    ('[5, 6]', "must be a JSON object of setting -> list of values"),
    ('{"threshold": [5,', "not JSON"),
])
def test_a_bad_grid_file_is_a_one_line_error_naming_it(tmp_path, text, message):
    path = tmp_path / "grid.json"
    path.write_text(text)
    with pytest.raises(CalibrationError) as caught:
        load_grid(path, SpotterConfig())
    assert message in str(caught.value) and str(path) in str(caught.value) and "\n" not in str(caught.value)


# ------------------------------------------------------------------------------- end to end on synthetic

@pytest.fixture(scope="module")
def two_subjects(tmp_path_factory):
    root = tmp_path_factory.mktemp("spot_calibration")
    made = make_long_videos(root, "CASME_SQ", videos=4, seed=12, **TINY)     # s15 x 2 and s16 x 2
    assert len({v.video_id.split("/")[0] for v in made.videos}) == 2
    return root, made


def test_calibrate_reports_both_figures_and_writes_a_spotter_file(two_subjects, tmp_path, capsys, monkeypatch):
    root, made = two_subjects
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"threshold": [0.5, 3.0]}))
    out = tmp_path / "out"
    argv = [root, "CASME_SQ", "--face", "full", "--out", out, "--quiet", "--threshold", "1.5", "--calibrate-grid", grid]
    code, stdout, stderr = run(argv, capsys)
    assert code == 0, stderr
    assert "calibrated (leave-one-subject-out): micro F1" in stdout
    report = json.loads((out / "report.json").read_text(), parse_constant=strict_json)
    cal = report["calibration"]
    assert cal["grid"] == {"threshold": [0.5, 1.5, 3.0]} and cal["points"] == 3 and cal["base"] == {"threshold": 1.5}
    assert set(cal["subjects"]) == {"s15", "s16"}
    # the calibrated counts are each subject's videos under the point chosen without them
    table = calibration.counts_table(
        [[runner.load_result(calibration.point_dir(out, g, p), v.video_id) for v in made.videos]
         for g in [load_grid(grid, SpotterConfig(threshold=1.5))] for p in g.points()],
        Conventions())
    names = [f"threshold={t:g}" for t in (0.5, 1.5, 3.0)]
    expected = Counts()
    for subject, row in cal["subjects"].items():
        point = names.index(row["point"])
        for video in row["videos"]:
            expected = expected + table[point][video]["micro"]
    assert cal["summary"]["counts"]["micro"]["tp"] == expected.tp
    assert cal["summary"]["counts"]["micro"]["predicted"] == expected.predicted
    markdown = (out / "report.md").read_text()
    assert "## Calibrated settings (leave-one-subject-out)" in markdown
    assert "| micro | **" in markdown and "run's settings: F1 (P, R) | calibrated: F1 (P, R)" in markdown
    assert "| s15 | 2 | threshold=" in markdown and "| s16 | 2 | threshold=" in markdown
    written = out / calibration.SETTINGS_FILE
    assert cal["all_subjects"]["file"] == str(written) and str(written) in markdown
    chosen = load_spotter_settings(written)
    assert chosen == SpotterConfig(threshold=float(cal["all_subjects"]["point"].split("=")[1]))
    code, _, stderr = run([root, "CASME_SQ", "--face", "full", "--out", tmp_path / "chosen", "--quiet", "--spotter",
                           written, "--videos", made.videos[0].video_id], capsys)
    assert code == 0, stderr
    assert json.loads((tmp_path / "chosen" / "report.json").read_text())["run"]["spotter_file"] == str(written)

    # a calibration point's runs are those of a plain run with its settings (the shared frames change nothing)
    spotter = tmp_path / "spotter.json"
    write_spotter_settings(spotter, SpotterConfig(threshold=3.0))
    plain = tmp_path / "plain"
    code, _, stderr = run([root, "CASME_SQ", "--face", "full", "--out", plain, "--quiet", "--spotter", spotter], capsys)
    assert code == 0, stderr
    folder = out / "calibration" / "threshold_3"
    for video in made.videos:
        assert (runner.load_result(folder, video.video_id)["events"]
                == runner.load_result(plain, video.video_id)["events"])

    # the same command again runs nothing: every point's results are kept
    monkeypatch.setattr(runner, "run_video", lambda *a, **k: pytest.fail("a finished calibration ran again"))
    code, stdout2, stderr = run(argv, capsys)
    assert code == 0, stderr
    assert stdout2 == stdout


@pytest.mark.parametrize("extra, message", [
    (["--calibrate", "--videos", "s15/15_0401girlcrashing", "s15/15_0101disgustingteeth"], "at least 2 subjects"),
    (["--calibrate-grid", "MISSING"], "--calibrate-grid MISSING: no such file"),
])
def test_calibrate_errors_are_one_line_with_status_2(two_subjects, tmp_path, capsys, extra, message):
    root, _ = two_subjects
    code, _, stderr = run([root, "CASME_SQ", "--face", "full", "--out", tmp_path / "out", "--quiet", *extra], capsys)
    assert code == 2
    assert message in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "videos").exists()          # checked before any work
