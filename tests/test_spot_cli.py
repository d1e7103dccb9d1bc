"""`mer-spot` end to end on a tiny synthetic CAS(ME)^2 tree: the live engine over each video, the report
files, resuming an interrupted run, rebuilding a finished one, and one-line errors with exit status 2."""
from __future__ import annotations

import json
import shutil

import pytest

from mer_live.cli_errors import EXIT_DISK_FULL
from mer_live.spot_eval import cli, runner
from mer_live.spot_eval.synthetic import make_long_videos

from spot_cli_helpers import TINY, run, strict_json


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("spot_cli")
    made = make_long_videos(root, "CASME_SQ", videos=2, seed=12, **TINY)
    return root, made


def test_mer_spot_scores_every_video_and_writes_the_report(tiny_root, tmp_path, capsys):
    root, made = tiny_root
    out = tmp_path / "out"
    code, stdout, _ = run([root, "CASME_SQ", "--face", "full", "--out", out, "--quiet", "--threshold", "1.5"], capsys)
    assert code == 0
    assert "micro F1" in stdout and "overall F1" in stdout and "any-type F1" in stdout
    report = json.loads((out / "report.json").read_text(), parse_constant=strict_json)
    counts = report["summary"]["counts"]
    truth = [i for v in made.videos for i in v.truth]
    assert counts["micro"]["annotated"] == sum(i.kind == "micro" for i in truth)
    assert counts["macro"]["annotated"] == sum(i.kind == "macro" for i in truth)
    assert report["summary"]["videos"] == len(made.videos)
    results = sorted((out / "videos").glob("*.json"))
    assert len(results) == len(made.videos)
    events = [e for p in results for e in json.loads(p.read_text())["events"]]
    assert events, "a threshold of 1.5 spots something in these videos"
    assert counts["overall"]["predicted"] == len(events)
    for e in events:                                    # frame intervals, a type, and a causal report time
        assert e["kind"] in ("micro", "macro") and 1 <= e["onset"] <= e["offset"]
        assert e["reported_at_s"] >= e["end_s"] - 1e-6
    for video in made.videos:
        png = out / "timelines" / f"{runner.safe_name(video.video_id)}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (out / "report.md").read_text()
    assert "| micro |" in markdown and ".008" in markdown and "none is causal" in markdown
    assert "| watched |" in markdown                    # what share of each video the spotter watched
    assert "**Any-type F1:" in markdown and "| CASME_SQ | micro |" in markdown
    limits = report["summary"]["type_limits"]           # the run's own spotter limits
    assert (limits["max_micro_s"], limits["max_macro_s"]) == (0.5, 4.0)
    assert limits["datasets"]["CASME_SQ"]["all"]["annotated"] == counts["overall"]["annotated"]
    assert all(0.5 < row["watched"] <= 1 for row in report["summary"]["per_video"])
    assert report["run"]["engine"]["face"] == "full" and report["run"]["engine"]["spotter"]["threshold"] == 1.5


def test_with_a_model_micro_events_are_classified(tiny_root, tmp_path, capsys):
    from mer_live.streaming.demo import demo_model_path

    root, made = tiny_root
    out = tmp_path / "out"
    settings = tmp_path / "tiny.json"        # the tiny layout's 40 x 48 crops: the spotter measures at 64 px
    settings.write_text(json.dumps({"size": 64, "threshold": 3.0}))
    code, _, _ = run([root, "CASME_SQ", "--face", "full", "--out", out, "--quiet", "--spotter", settings,
                      "--model", demo_model_path(), "--videos", made.videos[0].video_id], capsys)
    assert code == 0
    events = json.loads(runner.result_path(out, made.videos[0].video_id).read_text())["events"]
    micro = [e for e in events if e["kind"] == "micro"]
    assert micro and all(e["label"] in ("ne", "po", "sur") for e in micro)
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["model"].endswith("demo_model.onnx") and "ch3_1_fusion" in report["run"]["classifier"]


def test_an_interrupted_run_resumes_and_a_finished_one_only_rebuilds(tiny_root, tmp_path, capsys, monkeypatch):
    root, made = tiny_root
    out = tmp_path / "out"
    argv = [root, "CASME_SQ", "--face", "full", "--out", out, "--quiet"]
    real_run_video = runner.run_video
    calls = []

    def interrupted_second(video, *args, **kwargs):
        calls.append(video.video_id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_run_video(video, *args, **kwargs)

    monkeypatch.setattr(runner, "run_video", interrupted_second)
    code, _, err = run(argv, capsys)
    assert code == 130 and "run the same command" in err
    kept = list((out / "videos").glob("*.json"))
    assert len(kept) == 1 and not (out / "report.md").exists()
    first_mtime = kept[0].stat().st_mtime_ns

    calls.clear()
    monkeypatch.setattr(runner, "run_video", lambda video, *a, **k: (calls.append(video.video_id),
                                                                      real_run_video(video, *a, **k))[1])
    assert run(argv, capsys)[0] == 0
    assert len(calls) == 1 and calls[0] != kept[0].stem          # only the unfinished video ran again
    assert kept[0].stat().st_mtime_ns == first_mtime
    assert (out / "report.md").exists()

    (out / "report.md").unlink()
    shutil.rmtree(out / "timelines")

    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished run re-ran a video")

    monkeypatch.setattr(runner, "run_video", must_not_run)
    assert run(argv, capsys)[0] == 0
    assert (out / "report.md").exists() and len(list((out / "timelines").glob("*.png"))) == len(made.videos)


def test_a_full_disk_mid_run_is_one_line_and_keeps_finished_videos(tiny_root, tmp_path, capsys, monkeypatch):
    import errno

    from mer_live.spot_eval import report

    root, made = tiny_root
    out = tmp_path / "out"

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "report.json"))

    monkeypatch.setattr(report, "write_report", disk_full)
    code, _, err = run([root, "CASME_SQ", "--face", "full", "--out", out, "--quiet", "--videos",
                        made.videos[0].video_id], capsys)
    assert code == EXIT_DISK_FULL and err.count("\n") == 1 and "no space left" in err
    assert "finished videos are kept" in err and "run the same command" in err
    assert len(list((out / "videos").glob("*.json"))) == 1


def test_resuming_with_other_settings_is_refused(tiny_root, tmp_path, capsys):
    root, _ = tiny_root
    out = tmp_path / "out"
    out.mkdir()
    (out / runner.RUN_FILE).write_text(json.dumps({"dataset": "CASME_SQ", "engine": {"stride_s": 0.5}}))
    code, _, err = run([root, "CASME_SQ", "--face", "full", "--out", out, "--quiet"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("mer-spot: error: ") and "other settings" in err


def test_an_unreadable_frame_is_counted_on_the_console_and_in_the_report(tiny_root, tmp_path, capsys):
    root, made = tiny_root
    copy = tmp_path / "data"
    shutil.copytree(root, copy)
    video = made.videos[0].video_id
    frames = sorted((copy / "CASME_SQ" / "rawpic" / video).glob("*.jpg"))
    frames[len(frames) // 2].write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    code, _, err = run([copy, "CASME_SQ", "--face", "full", "--out", out, "--quiet", "--videos", video], capsys)
    assert code == 0                                          # one frame skipped: the video is still scored
    skipped = f"1 unreadable frame skipped (first: {frames[len(frames) // 2]})"
    assert f"mer-spot: {video}: warning: {skipped}; the video is scored without them" in err
    assert f"mer-spot: warning: 1 unreadable frame(s) skipped in 1 video(s) ({video})" in err
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["unreadable_frames"] == 1
    markdown = (out / "report.md").read_text()
    assert "**Damaged input:** 1 unreadable frame(s) in 1 video(s) were skipped" in markdown
    assert f"| {video} ({skipped}) |" in markdown


def test_an_emptied_annotation_sheet_is_refused_not_scored_f1_0(tiny_root, tmp_path, capsys):
    import openpyxl

    root, _ = tiny_root
    copy = tmp_path / "data"
    shutil.copytree(root, copy)
    sheet = copy / "CASME_SQ" / "CAS(ME)^2code_final.xlsx"
    workbook = openpyxl.load_workbook(sheet)
    codes = workbook["CASFEcode_final"]
    codes.delete_rows(1, codes.max_row)
    workbook.save(sheet)
    code, stdout, err = run([copy, "CASME_SQ", "--face", "full", "--out", tmp_path / "out", "--quiet"], capsys)
    assert code == 2 and stdout == "" and err.count("\n") == 1
    assert err.startswith(f"mer-spot: error: the annotation workbook {sheet} gives no annotation to score against "
                          "for any of the 2 videos: its sheet has no annotation rows")
    assert not (tmp_path / "out" / "report.md").exists()


@pytest.mark.parametrize("argv, status, needle", [
    (["{missing}", "CASME_SQ"], 2, "not a folder"),
    (["{root}", "CASME2"], 2, "invalid choice"),
    (["{root}", "CASME_SQ", "--videos", "s99/nothing"], 2, "s99/nothing"),
    (["{root}", "CASME_SQ", "--model", "{missing}/m.onnx"], 2, "m.onnx"),
    (["{root}", "CASME_SQ", "--model", "{file}"], 6, "not an ONNX model"),
    (["{root}", "CASME_SQ", "--stride", "0"], 2, "--stride"),
    (["{root}", "CASME_SQ", "--threshold", "-0.5"], 2, "--threshold"),
    (["{root}", "CASME_SQ", "--detect-every", "0"], 2, "--detect-every"),
    (["{root}", "CASME_SQ", "--threshold", "nan"], 2, "--threshold"),
    (["{root}", "CASME_SQ", "--threshold", "inf"], 2, "--threshold"),
    (["{root}", "CASME_SQ", "--stride", "nan"], 2, "--stride"),
    (["{root}", "CASME_SQ", "--stride", "inf"], 2, "--stride"),
    (["{root}", "CASME_SQ", "--clip-seconds", "nan"], 2, "--clip-seconds"),
    (["{root}", "CASME_SQ", "--clip-seconds", "inf"], 2, "--clip-seconds"),
    (["{root}", "CASME_SQ", "--clip-seconds", "0"], 2, "--clip-seconds"),
    (["{root}", "CASME_SQ", "--clip-seconds", "-1"], 2, "--clip-seconds"),
    (["{root}", "CASME_SQ", "--clip-seconds", "11"], 2, "--clip-seconds"),
    (["{root}", "CASME_SQ", "--detect-every", "1.5"], 2, "--detect-every"),
    (["{root}", "CASME_SQ", "--out", "{file}"], 3, "not a folder"),
    (["{root}", "SAMM_LV"], 2, "SAMM_LV"),
    (["{root}", "CASME_SQ", "--frobnicate"], 2, "unrecognized arguments"),
])
def test_bad_input_is_one_line_and_its_status(tiny_root, tmp_path, capsys, monkeypatch, argv, status, needle):
    root, _ = tiny_root
    monkeypatch.chdir(tmp_path)                    # where the default --out would go
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    values = {"root": root, "missing": tmp_path / "missing", "file": a_file}
    code, stdout, err = run([a.format(**values) for a in argv] + ["--quiet"], capsys)
    assert code == status and stdout == ""
    assert err.count("\n") == 1 and err.startswith("mer-spot: error: ") and needle in err
    assert not (tmp_path / "runs").exists()        # nothing written before the error


def test_an_event_keeps_the_engines_type_and_report_time(tmp_path):
    import math
    from types import SimpleNamespace

    from mer_live.spot_eval.records import LongVideo

    video = LongVideo(dataset="CASME3_A", video_id="spNO.1/a", subject="spNO.1", frames=(tmp_path / "0.jpg",) * 6,
                      numbers=(0, 1, 2, 5, 6, 7), fps=10.0)
    older = SimpleNamespace(start=0.12, end=0.41, label="po", confidence=0.9, peak_score=4.0)   # no kind
    record = runner.event_record(older, seen_at=0.9, video=video)
    assert record["kind"] == "micro" and record["reported_at_s"] == 0.9      # contract 1's defaults
    # [0.12, 0.41) s: from the frame nearest 0.12 s (number 1) to the one nearest 0.31 s (number 2)
    assert (record["onset"], record["offset"]) == (1, 2)
    new = SimpleNamespace(start=0.5, end=0.8, label="", confidence=0.0, peak_score=3.0, kind="macro",
                          reported_at=1.05)
    record = runner.event_record(new, seen_at=1.2, video=video)
    assert record["kind"] == "macro" and record["reported_at_s"] == 1.05
    assert (record["onset"], record["offset"]) == (5, 7)                      # frames 5, 6, 7 (0.5-0.7 s)
    unstamped = SimpleNamespace(**{**vars(new), "reported_at": math.nan})
    assert runner.event_record(unstamped, seen_at=1.2, video=video)["reported_at_s"] == 1.2


def test_spot_only_needs_no_classifier_and_the_legacy_engine_gets_the_demo_window_shape():
    import numpy as np

    from mer_live.onnx_metadata import read_metadata
    from mer_live.streaming.demo import demo_model_path
    from mer_live.streaming.engine import EngineConfig

    assert runner.spot_only_classifier(EngineConfig()) is None
    shape = runner.spot_only_classifier(EngineConfig.legacy())
    demo = read_metadata(demo_model_path())
    assert shape.spec.class_names == ("",)
    assert (shape.spec.num_frames, shape.spec.image_size, shape.spec.feature, shape.spec.clip_seconds) == \
        (demo.num_frames, demo.image_size, demo.feature, demo.clip_seconds)
    assert shape.predict(np.zeros((3, 1, 1, 1, 1), np.float32)).tolist() == [[1.0]] * 3


def test_help_lists_the_datasets(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert all(name in text for name in ("CASME_SQ", "SAMM_LV", "CASME3_A"))


def test_conventions_are_in_the_report_and_a_finished_run_is_rescored_under_others(tiny_root, tmp_path, capsys,
                                                                                   monkeypatch):
    root, made = tiny_root
    out = tmp_path / "out"
    argv = [root, "CASME_SQ", "--face", "full", "--out", out, "--quiet", "--threshold", "1.5"]
    assert run(argv, capsys)[0] == 0
    markdown = (out / "report.md").read_text()
    assert "--type-absent count" in markdown and "--onset-missing apex" in markdown
    assert json.loads((out / "report.json").read_text())["run"]["conventions"] == {"type_absent": "count",
                                                                                   "onset_missing": "apex"}
    stored = json.loads(runner.result_path(out, made.videos[0].video_id).read_text())
    assert all("filled" in a for a in stored["annotations"])

    def must_not_run(*args, **kwargs):
        raise AssertionError("rescoring re-ran a video")

    monkeypatch.setattr(runner, "run_video", must_not_run)
    assert run(argv + ["--type-absent", "skip", "--onset-missing", "drop"], capsys)[0] == 0
    markdown = (out / "report.md").read_text()
    assert "--type-absent skip" in markdown and "--onset-missing drop" in markdown
    assert json.loads((out / "report.json").read_text())["run"]["conventions"]["type_absent"] == "skip"

    for path in (out / "videos").glob("*.json"):             # results of a mer-spot that did not record it
        result = json.loads(path.read_text())
        for annotation in result["annotations"]:
            annotation.pop("filled")
        path.write_text(json.dumps(result))
    code, _, err = run(argv + ["--onset-missing", "drop"], capsys)
    assert code == 2 and err.count("\n") == 1 and "older mer-spot" in err


def test_spotter_settings_from_a_file_are_used_and_named_in_the_report(tiny_root, tmp_path, capsys):
    root, _ = tiny_root
    settings = tmp_path / "mine.json"
    settings.write_text('{"threshold": 1.5, "hold_s": 1.0}')
    out = tmp_path / "out"
    code, _, _ = run([root, "CASME_SQ", "--face", "full", "--out", out, "--quiet", "--spotter", settings], capsys)
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["engine"]["spotter"]["threshold"] == 1.5 and report["run"]["engine"]["spotter"]["hold_s"] == 1.0
    assert str(settings.resolve()) in (out / "report.md").read_text()
    settings.write_text('{"hold": 1.0}')
    code, _, err = run([root, "CASME_SQ", "--face", "full", "--out", tmp_path / "o2", "--quiet", "--spotter", settings],
                       capsys)
    assert code == 2 and "unknown setting(s) hold" in err
