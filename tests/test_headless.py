"""`mer-live --headless` as a new user meets it: what it says while loading, what it prints at the end, logs
of whole lines, the frame rate of a folder of frames, a source error said once, and a video too small for
a face ended in its one line without detector tracebacks."""
from __future__ import annotations

import csv
import dataclasses
import shutil

import cv2
import numpy as np

from gui.cli import main
from mer_live.cli_errors import EXIT_UNREADABLE_INPUT
from mer_live.streaming import demo


def one_event_stream(realtime=False, _make=demo.demo_source, **_):
    return _make(realtime=realtime, events=((1.4, "sur"),), duration_s=2.4)


def write_folder(folder, frames):
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"img{i}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return folder


def test_synthetic_source_with_your_own_model_prints_the_ground_truth_in_whole_lines(tmp_path, monkeypatch,
                                                                                     capsys):
    monkeypatch.setattr(demo, "demo_source", one_event_stream)
    model = tmp_path / "mine.onnx"          # the user's own exported model (here: the demo model, renamed)
    shutil.copy(demo.demo_model_path(), model)
    assert main(["--headless", "--source", "synthetic", "--model", str(model), "--face", "full"]) == 0
    captured = capsys.readouterr()
    assert "stream ground truth: 1.40-1.80 s sur" in captured.out
    assert "DEMO" not in captured.err and "demo stream" not in captured.err    # not the demo, not called so
    assert "processing the synthetic stream with your model mine.onnx" in captured.err
    assert "loading the model" in captured.err and "ready after" in captured.err
    # stdout and stderr are not terminals here: plain lines, never a bar redrawn with carriage returns
    assert "\r" not in captured.out + captured.err
    assert any(line.startswith("mer-live: frame 72/72 (100%, ") for line in captured.err.splitlines())
    assert "|" not in captured.err                                      # sentences, no drawn bar


def test_folder_of_frames_is_read_at_the_models_training_rate_unless_fps_is_given(tmp_path, monkeypatch, capsys):
    from mer_live import runtime

    class TrainedAt100Fps(runtime.OnnxClassifier):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.spec = dataclasses.replace(self.spec, fps=100.0, dataset="SMIC")

    monkeypatch.setattr(runtime, "OnnxClassifier", TrainedAt100Fps)
    folder = write_folder(tmp_path / "frames", demo.demo_source(events=(), duration_s=80 / 30).frames)
    out = tmp_path / "preds.csv"

    def last_window_end_is_the_last_frame_at(fps):          # within one stride (0.1 s) of frame 79's time
        last = max(float(row["t_end"]) for row in csv.DictReader(out.open()))
        return 79 / fps - 0.1 < last <= 79 / fps + 1e-6

    command = ["--headless", "--source", str(folder), "--model", str(demo.demo_model_path()), "--face", "full",
               "--out", str(out)]
    assert main(command) == 0
    assert "at 100 fps, the frame rate of the model's training data (SMIC)" in capsys.readouterr().err
    assert last_window_end_is_the_last_frame_at(100)
    assert main([*command, "--fps", "30"]) == 0
    assert "training data" not in capsys.readouterr().err
    assert last_window_end_is_the_last_frame_at(30)


def test_a_source_error_is_said_once_before_any_loading(tmp_path, capsys):
    model = str(demo.demo_model_path())
    assert main(["--headless", "--source", str(tmp_path / "missing.mp4"), "--model", model]) == 2
    err = capsys.readouterr().err
    assert "neither a camera index" in err and "loading" not in err      # the wrong path first, nothing loaded
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    out = tmp_path / "preds.csv"
    assert main(["--headless", "--source", str(broken), "--model", model, "--face", "full",
                 "--out", str(out)]) == EXIT_UNREADABLE_INPUT
    captured = capsys.readouterr()
    assert "cannot open video" in captured.err
    assert "no micro-expression events" not in captured.out and "0 frames" not in captured.err
    assert not out.exists()


def summary_counts(err):
    """(frames, event clips, stride windows) from the run's last line."""
    import re

    lines = [line for line in err.splitlines() if " classified " in line]
    assert len(lines) == 1, err
    found = re.match(r"(\d+) frames?; classified (\d+) event clips? and (\d+) stride windows? ", lines[0])
    assert found, lines[0]
    return tuple(int(n) for n in found.groups()), lines[0]


def test_the_last_line_counts_event_clips_and_stride_windows_apart(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "demo_source", one_event_stream)
    command = ["--headless", "--demo", "--face", "full", "--threshold", "5"]   # the whole frame: a small face
    assert main(command) == 0
    captured = capsys.readouterr()
    (frames, clips, windows), line = summary_counts(captured.err)
    labelled = [row for row in captured.out.splitlines() if "confidence" in row]
    assert frames == 72 and clips == len(labelled) >= 1           # every labelled event: one clip classified
    assert windows == 0 and "only with --out" in line              # without --out no stride window is
    assert "processing demo stream (synthetic) with the demo model" in captured.err
    out = tmp_path / "preds.csv"
    assert main([*command, "--out", str(out)]) == 0
    (frames, clips, windows), line = summary_counts(capsys.readouterr().err)
    assert clips == len(labelled) and windows == len(list(csv.DictReader(out.open()))) > 0
    assert "only with --out" not in line and "per second" in line


def test_a_video_smaller_than_a_face_ends_in_its_one_line_without_detector_tracebacks(tmp_path, capsys, caplog):
    video = tmp_path / "tiny.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30, (1, 1))
    assert writer.isOpened()
    for i in range(60):
        writer.write(np.full((1, 1, 3), 4 * i, np.uint8))
    writer.release()
    assert main(["--headless", "--source", str(video), "--demo", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err + caplog.text and "face detection failed" not in err + caplog.text
    errors = [line for line in err.splitlines() if line.startswith("mer-live: error:")]
    assert errors == [line for line in err.splitlines() if "error" in line.lower()]
    (line,) = errors
    assert "no face was found in any frame" in line and "nothing was written" in line


def test_a_folder_of_frames_of_mixed_sizes_is_refused_naming_the_first_that_differs(tmp_path, capsys):
    """Mixed sizes gave a cv2.error traceback once the engine stacked them into a window (issue 22)."""
    frames = demo.demo_source(events=(), duration_s=40 / 30).frames
    folder = write_folder(tmp_path / "frames", frames)
    for i in (25, 31):                                   # img25 is the first that differs
        cv2.imwrite(str(folder / f"img{i}.png"), cv2.resize(frames[i], (frames.shape[2] // 2, frames.shape[1] // 2)))
    out = tmp_path / "preds.csv"
    status = main(["--headless", "--source", str(folder), "--model", str(demo.demo_model_path()), "--face", "full",
                   "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 2 and "Traceback" not in captured.err and not out.exists()
    error = [line for line in captured.err.splitlines() if "error" in line]
    assert len(error) == 1 and "img25.png" in error[0] and "img31" not in error[0] and "same size" in error[0]
