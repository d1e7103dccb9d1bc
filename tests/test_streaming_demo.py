"""End to end with the shipped demo model, real MTCNN and the synthetic stream: events at the right times
and of the right classes; the headless CLI writes one CSV row per window and prints the events."""
from __future__ import annotations

import csv
import json

import cv2
import pytest

from mer_live.streaming import demo

SHORT_EVENTS = ((1.5, "sur"), (3.0, "po"), (4.5, "ne"))
STRIDE = 0.1


def short_demo_source(realtime=False, _make=demo.demo_source):
    return _make(realtime=realtime, events=SHORT_EVENTS, duration_s=5.5)


def test_headless_demo_reports_events_at_the_right_times_and_classes_one_row_per_window(
        tmp_path, monkeypatch, capsys):
    """The demo model on a stream it was not trained on (seed 0) through `mer-live --headless --demo`."""
    from gui.cli import main

    monkeypatch.setattr(demo, "demo_source", short_demo_source)
    out, events_csv = tmp_path / "preds.csv", tmp_path / "events.csv"
    code = main(["--headless", "--demo", "--out", str(out), "--events", str(events_csv), "--detect-every", "10",
                 "--quiet"])
    assert code == 0
    captured = capsys.readouterr()
    assert "synthetic motions" in captured.err          # the demo says what its model knows
    assert "3 micro-expression event(s)" in captured.out
    spotted = list(csv.DictReader(events_csv.open()))
    truth = [(start, start + demo.DEMO_EVENT_S, label) for start, label in SHORT_EVENTS]
    assert [e["label"] for e in spotted] == [label for _, _, label in truth]
    assert all(e["kind"] == "micro" and float(e["reported_at"]) >= float(e["end"]) for e in spotted)
    for event, (start, end, _) in zip(spotted, truth):
        assert abs(float(event["start"]) - start) <= STRIDE, (event, start)
        assert abs(float(event["end"]) - end) <= STRIDE, (event, end)
    watch = json.loads((tmp_path / "events.watch.json").read_text())     # what the spotter watched, beside it
    assert watch["face_frames"] == sum(watch["frames"].values()) > 0
    assert watch["watched"] == pytest.approx(watch["frames"]["watching"] / watch["face_frames"], abs=1e-4)
    assert watch["watched"] > 0.5 and watch["summary"] in captured.out
    rows = list(csv.DictReader(out.open()))
    # one row per window: a window every stride once the first 0.5 s clip is full
    assert len(rows) == pytest.approx((5.5 - 0.5) / STRIDE, abs=2)
    assert [f"p_{c}" for c in ("ne", "po", "sur")] == list(rows[0])[-3:]
    assert {r["is_candidate"] for r in rows} == {"0", "1"}
    assert all(r["top_class"] in ("ne", "po", "sur") for r in rows)


def test_headless_folder_source_and_bad_model_errors(tmp_path, capsys):
    from gui.cli import main

    source = demo.demo_source(events=((1.5, "sur"),), duration_s=2.5)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(source.frames):
        cv2.imwrite(str(folder / f"img{i}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    out = tmp_path / "preds.csv"
    assert main(["--headless", "--source", str(folder), "--fps", "30", "--model", str(demo.demo_model_path()),
                 "--out", str(out), "--quiet", "--detect-every", "10"]) == 0
    assert "sur" in capsys.readouterr().out
    assert len(list(csv.DictReader(out.open()))) == pytest.approx((2.5 - 0.5) / STRIDE, abs=2)
    assert main(["--headless", "--source", str(folder), "--model", str(tmp_path / "nope.onnx"), "--quiet"]) == 2
    assert "nope.onnx" in capsys.readouterr().err
    assert main(["--headless", "--source", str(tmp_path / "missing"), "--model", str(demo.demo_model_path()),
                 "--quiet"]) == 2
    assert "neither a camera index" in capsys.readouterr().err


def test_real_mtcnn_box_holds_still_on_a_still_noisy_face():
    """MTCNN's boxes on a still face with camera noise jitter; the tracker's crop box must not move."""
    import numpy as np

    from mer_live.face import FaceDetector
    from mer_live.streaming.face_tracker import FaceTracker
    from mer_live.synthetic.stream import make_stream

    frames, _ = make_stream(events=(), duration_s=12 / 30, fps=30, seed=3, noise=2.0)
    detector, tracker = FaceDetector(), FaceTracker()
    faces = [detector.detect(f) for f in frames]
    boxes = {tracker.update(face, f.shape).box for face, f in zip(faces, frames)}
    assert len(boxes) == 1 and None not in boxes
    jitter = np.ptp(np.stack([face.box for face in faces]), axis=0)
    assert jitter.max() < 0.15 * (faces[0].box[2] - faces[0].box[0])     # a still face, as the tracker assumes
