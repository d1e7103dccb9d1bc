"""Nothing lost, no silent success, no traceback: every command against hostile but realistic input.

Each case runs the command's `main` in-process on tiny synthetic data (no MTCNN: prepare gets a fake
detector, the live runs use --face full and the shipped demo model). A full disk is simulated by
sending the atomic writers' temporary files to /dev/full, so the kernel's own ENOSPC reaches the code
exactly as on a full disk; a read-only folder by chmod, or (as root, who may write anyway) by a
refusing mkstemp.
"""
from __future__ import annotations

import builtins
import csv
import errno
import io
import os
import pickle
import re
import shutil
import stat
import tempfile
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest

from export.cli import main as mer_export
from gui.cli import main as mer_live
from mer_live import cli_errors, prepare
from mer_live.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from mer_live.cli_errors import (EXIT_BAD_MODEL, EXIT_CANNOT_WRITE, EXIT_DISK_FULL, EXIT_INCOMPLETE,
                                 EXIT_INTERRUPTED, EXIT_UNREADABLE_INPUT, EXIT_USAGE)
from mer_live.face import Face
from mer_live.frames import FrameReadError, read_frame, write_frame
from mer_live.prepare import main as mer_prepare
from mer_live.spec import ModelSpec
from mer_live.streaming import demo
from mer_live.synthetic.cli import main as mer_synth
from training import run as train_run
from training.cli import main as mer_train

REAL_VIDEO = Path(__file__).parent / "data" / "real" / "WolfgangLanger_Pexels.mp4"
REAL_VIDEO_FRAMES = 472
TRAIN_FAST = ["--variant", "nano", "-imgsize", "32", "-num_frames", "4", "-bs", "3", "-ep", "1", "--no-progress",
              "--cache-dir", ""]
MODEL = "ch3_1_fusion_cnn_like"
LIVE_FAST = ["--headless", "--face", "full", "--quiet", "--model", str(demo.demo_model_path())]


# ------------------------------------------------------------------------------------------------ helpers
def run(main, argv, capsys) -> tuple[int, str, str]:
    """Run a command's main in-process: (status, stdout, stderr); an expected error never shows a traceback."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err + out, err
    return status, out, err


def error_lines(err: str, prog: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(f"{prog}: error:")]


@pytest.fixture
def disk_full(monkeypatch):
    """`disk_full()`: from then on, writes into the atomic writers' temporary files (`.NAME.*.tmp`) go to
    /dev/full, so they fail with the kernel's own ENOSPC; `disk_full("model.pt")`: only that output's."""
    if not os.path.exists("/dev/full"):
        pytest.skip("/dev/full is Linux-only")
    real_open = io.open

    def fill(only: str | None = None) -> None:
        def full_open(file, mode="r", *args, **kwargs):
            name = os.path.basename(os.fspath(file)) if isinstance(file, (str, os.PathLike)) else ""
            ours = name.startswith(f".{only}." if only else ".") and name.endswith(".tmp")
            if ours and any(m in mode for m in "wax"):
                return real_open("/dev/full", mode.replace("x", "w"), *args, **kwargs)
            return real_open(file, mode, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", full_open)
        monkeypatch.setattr(io, "open", full_open)

    return fill


@pytest.fixture
def read_only(monkeypatch):
    """Make a folder refuse new files: chmod, or as root (whom permissions do not stop) a refusing mkstemp."""
    folders: list[Path] = []
    real_mkstemp = tempfile.mkstemp

    def refusing_mkstemp(*args, dir=None, **kwargs):
        if dir is not None and any(Path(dir).resolve() == f for f in folders):
            raise PermissionError(errno.EACCES, "Permission denied", os.path.join(dir, "probe"))
        return real_mkstemp(*args, dir=dir, **kwargs)

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        folders.append(folder.resolve())
        if os.geteuid() == 0:
            monkeypatch.setattr(tempfile, "mkstemp", refusing_mkstemp)
        else:
            folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        return folder

    yield make
    for folder in folders:
        folder.chmod(stat.S_IRWXU)


class FakeDetector:
    """A face in the middle of every frame (or, with `interrupt_after`, Ctrl-C after that many clips)."""

    def __init__(self, interrupt_after: int | None = None):
        self.interrupt_after = interrupt_after

    def __call__(self, device="cpu"):            # stands in for the FaceDetector class
        return self

    def detect_many(self, frames):
        if self.interrupt_after is not None:
            if self.interrupt_after == 0:
                raise KeyboardInterrupt
            self.interrupt_after -= 1
        h, w = frames[0].shape[:2]
        box = np.float32([w * 0.3, h * 0.2, w * 0.7, h * 0.8])
        return [Face(box=box, landmarks=np.full((5, 2), 40, np.float32), prob=0.99) for _ in frames]


def raw_tree(tmp_path: Path, raw_smic_root: Path) -> Path:
    root = tmp_path / "SMIC"
    shutil.copytree(raw_smic_root / "SMIC", root)
    return root


def smic_copy(tmp_path: Path, synth_root: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(synth_root / "SMIC_CROP", data / "SMIC_CROP")
    return data


def smic_clip(data: Path) -> Path:
    return sorted(p for p in (data / "SMIC_CROP").rglob("s*_*_*") if p.is_dir())[0]


def casme2_with_typo(tmp_path: Path, synth_root: Path) -> tuple[Path, list[int]]:
    """A CASME II copy whose sheet spells every 'happiness' as 'hapiness'; returns (DATA_PATH, those rows)."""
    data = tmp_path / "data"
    shutil.copytree(synth_root / "CASME2", data / "CASME2")
    sheet = data / "CASME2" / "CASME2-coding-20190701.xlsx"
    workbook = openpyxl.load_workbook(sheet)
    rows = []
    for row in workbook.worksheets[0].iter_rows(min_row=2):
        if row[-1].value == "happiness":
            row[-1].value = "hapiness"
            rows.append(row[-1].row)
    workbook.save(sheet)
    return data, rows


def truncated_video(tmp_path: Path, fraction: float = 0.05) -> Path:
    data = REAL_VIDEO.read_bytes()
    path = tmp_path / "truncated.mp4"
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def earlier_results(tmp_path: Path) -> tuple[Path, str]:
    keep = tmp_path / "keep.csv"
    text = "window_index,t_start\n" + "".join(f"{i},{i / 10}\n" for i in range(20))
    keep.write_text(text)
    return keep, text


@pytest.fixture
def no_training(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("training started despite bad input")

    monkeypatch.setattr(train_run, "train_model", fail)


# ------------------------------------------------------------------ 1. outputs: checked before work, atomic
def test_unwritable_headless_output_fails_before_the_model_loads(tmp_path, monkeypatch, capsys, read_only):
    def must_not_load(*args, **kwargs):
        raise AssertionError("the model was loaded before the output was checked")

    monkeypatch.setattr("mer_live.runtime.OnnxClassifier", must_not_load)
    (tmp_path / "a_file").write_text("x")
    status, out, err = run(mer_live, [*LIVE_FAST, "--source", REAL_VIDEO, "--out", tmp_path / "a_file" / "w.csv"],
                           capsys)
    assert status == EXIT_CANNOT_WRITE
    assert error_lines(err, "mer-live") == [
        f"mer-live: error: cannot write {tmp_path / 'a_file' / 'w.csv'}: {tmp_path / 'a_file'} is a file, not a "
        "folder; choose another output path"]
    locked = read_only(tmp_path / "locked")
    status, out, err = run(mer_live, [*LIVE_FAST, "--source", REAL_VIDEO, "--events", locked / "e.csv"], capsys)
    assert status == EXIT_CANNOT_WRITE and f"cannot write {locked / 'e.csv'}" in err and "writable" in err
    assert not out


def test_unwritable_prepare_output_fails_before_the_detector_loads(tmp_path, raw_smic_root, monkeypatch, capsys,
                                                                     read_only):
    def must_not_load(*args, **kwargs):
        raise AssertionError("the detector was loaded before the outputs were checked")

    monkeypatch.setattr(prepare, "FaceDetector", must_not_load)
    root = raw_tree(tmp_path, raw_smic_root)
    (tmp_path / "SMIC_CROP").write_text("a file where the crop folder goes")
    status, _, err = run(mer_prepare, ["--dir", root, "--ext", "bmp", "--gpu", "-1"], capsys)
    assert status == EXIT_CANNOT_WRITE and "SMIC_CROP: it is a file, not a folder" in err
    parent = read_only(tmp_path / "ro")
    shutil.copytree(root, parent / "SMIC")
    status, _, err = run(mer_prepare, ["--dir", parent / "SMIC", "--ext", "bmp", "--gpu", "-1"], capsys)
    assert status == EXIT_CANNOT_WRITE and f"cannot write {parent / 'SMIC_CROP'}" in err


def test_unwritable_training_output_fails_before_any_work(tmp_path, synth_root, capsys, read_only, no_training):
    (tmp_path / "a_file").write_text("x")
    status, _, err = run(mer_train, [MODEL, synth_root, "SMIC", *TRAIN_FAST, "--out", tmp_path / "a_file" / "run"],
                         capsys)
    assert status == EXIT_CANNOT_WRITE and "a_file is a file, not a folder" in err
    locked = read_only(tmp_path / "locked")
    status, _, err = run(mer_train, [MODEL, synth_root, "SMIC", *TRAIN_FAST, "--out", locked / "run"], capsys)
    assert status == EXIT_CANNOT_WRITE and f"cannot write {locked / 'run'}" in err
    assert not (locked / "run").exists()


def test_unwritable_synth_root(tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    status, _, err = run(mer_synth, [tmp_path / "a_file" / "data", "--dataset", "SMIC"], capsys)
    assert status == EXIT_CANNOT_WRITE and "a_file is a file, not a folder" in err


def test_a_headless_output_that_is_an_input_or_the_other_output_is_refused_before_any_work(tmp_path, monkeypatch,
                                                                                         capsys):
    def must_not_load(*args, **kwargs):
        raise AssertionError("the model was loaded before the outputs were checked")

    monkeypatch.setattr("mer_live.runtime.OnnxClassifier", must_not_load)
    video, model = tmp_path / "v.mp4", tmp_path / "m.onnx"
    shutil.copyfile(REAL_VIDEO, video)
    shutil.copyfile(demo.demo_model_path(), model)
    (tmp_path / "alias.csv").symlink_to(video)
    os.link(model, tmp_path / "hard.csv")
    os.link(model, tmp_path / "x.watch.json")                      # where --events x.csv puts its sidecar
    (tmp_path / "sub").mkdir()
    before = {path: path.read_bytes() for path in (video, model)}
    live = ["--headless", "--face", "full", "--quiet", "--model", model, "--source", video]
    cases = [(["--out", video], "--out", "the input --source"),
             (["--out", tmp_path / "alias.csv"], "--out", f"the input --source {video} (both are {video})"),
             (["--events", model], "--events", "the input --model"),
             (["--out", tmp_path / "hard.csv"], "--out", "(two names of one file)"),
             (["--out", tmp_path / "a.csv", "--events", tmp_path / "sub" / ".." / "a.csv"], "--out",
              "are the same file"),
             (["--out", tmp_path / "e.watch.json", "--events", tmp_path / "e.csv"], "--out",       # its sidecar
              "and the --events sidecar"),
             (["--events", tmp_path / "x.csv"], "the --events sidecar", "the input --model")]
    for extra, option, needle in cases:
        status, out, err = run(mer_live, [*live, *extra], capsys)
        (line,) = error_lines(err, "mer-live")
        assert status == EXIT_USAGE and not out, extra
        assert line.startswith(f"mer-live: error: {option} ") and needle in line, line
    status, _, err = run(mer_live, ["--headless", "--demo", "--quiet", "--out", demo.demo_model_path()], capsys)
    assert status == EXIT_USAGE and "the input --model" in err          # the shipped demo model is an input too
    assert {path: path.read_bytes() for path in (video, model)} == before
    assert not (tmp_path / "a.csv").exists()


def test_export_refuses_to_write_over_its_checkpoint(tmp_path, monkeypatch, capsys):
    from export import onnx_export

    checkpoint = tmp_path / "m.pt"
    spec = ModelSpec(model="ch1_resnext", class_names=("a", "b"), num_frames=4, image_size=(32, 32))
    import torch

    save_checkpoint(checkpoint, Checkpoint(spec, {"w": torch.ones(3)}, {}))
    os.link(checkpoint, tmp_path / "m.onnx")
    before = checkpoint.read_bytes()

    def must_not_load(*args, **kwargs):
        raise AssertionError("the checkpoint was loaded before the output was checked")

    monkeypatch.setattr(onnx_export, "load_checkpoint", must_not_load)
    for output in (checkpoint, tmp_path / "." / "m.pt", tmp_path / "m.onnx"):
        status, out, err = run(mer_export, [checkpoint, "-o", output], capsys)
        (line,) = error_lines(err, "mer-export")
        assert status == EXIT_USAGE and f"-o/--output {output} is the input checkpoint {checkpoint}" in line
    assert checkpoint.read_bytes() == before


@pytest.mark.parametrize("source", ["undecodable", "camera"])
def test_a_source_that_cannot_be_read_keeps_earlier_results(tmp_path, capsys, source):
    keep, text = earlier_results(tmp_path)
    if source == "undecodable":
        spec = tmp_path / "clip.mp4"
        spec.write_bytes(np.random.default_rng(0).integers(0, 255, 4096, dtype=np.uint8).tobytes())
    else:
        spec = "9"                              # a camera index with no camera
    status, out, err = run(mer_live, [*LIVE_FAST, "--source", spec, "--out", keep], capsys)
    assert status == EXIT_UNREADABLE_INPUT
    assert keep.read_text() == text             # not replaced by a header-only file
    assert "no micro-expression events spotted" not in out and not out
    (line,) = error_lines(err, "mer-live")
    assert ("cannot open video" if source == "undecodable" else "cannot open camera 9") in line
    assert "nothing was written" in line


def test_ctrl_c_in_headless_keeps_the_earlier_complete_csv_and_marks_the_new_one_partial(tmp_path, monkeypatch,
                                                                                          capsys):
    from mer_live.streaming import headless

    keep, events = tmp_path / "keep.csv", tmp_path / "events.csv"
    argv = [*LIVE_FAST, "--source", REAL_VIDEO, "--out", keep, "--events", events]
    assert run(mer_live, argv, capsys)[0] == 0                   # an earlier complete result
    text, event_text = keep.read_text(), events.read_text()
    real_on_frame = headless.HeadlessListener.on_frame

    def ctrl_c_at_frame_200(self, info):
        real_on_frame(self, info)
        if self.frames == 200:
            raise KeyboardInterrupt

    monkeypatch.setattr(headless.HeadlessListener, "on_frame", ctrl_c_at_frame_200)
    status, _, err = run(mer_live, argv, capsys)
    assert status == EXIT_INTERRUPTED
    assert keep.read_text() == text and events.read_text() == event_text       # earlier results kept
    rows = (tmp_path / "keep.partial.csv").read_text().splitlines()
    windows = len(rows) - 2                       # the header and the marker
    assert 0 < windows < len(text.splitlines()) - 1
    assert rows[:-1] == text.splitlines()[:windows + 1]       # above the marker: the complete run's first rows
    assert rows[-1] == (f"# partial: interrupted after {windows} windows (read 200 of {REAL_VIDEO_FRAMES} frames); "
                        "not a complete result")
    assert (tmp_path / "events.partial.csv").read_text().splitlines()[-1] == rows[-1]
    assert f"wrote {windows} window rows to {tmp_path / 'keep.partial.csv'}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "events.partial.csv",
                                                          "events.partial.watch.json", "events.watch.json",
                                                          "keep.csv", "keep.partial.csv"]     # no temporary file


def test_full_disk_while_saving_a_checkpoint_names_the_file_and_keeps_the_old_one(tmp_path, disk_full):
    path = tmp_path / "model.pt"
    spec = ModelSpec(model="ch1_resnext", class_names=("a", "b"), num_frames=4, image_size=(32, 32))
    import torch

    save_checkpoint(path, Checkpoint(spec, {"w": torch.ones(3)}, {}))
    disk_full("model.pt")
    with pytest.raises(OSError) as info:
        save_checkpoint(path, Checkpoint(spec, {"w": torch.zeros(200_000)}, {}))
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)   # not "unexpected pos"
    assert float(load_checkpoint(path).state_dict["w"][0]) == 1.0                  # the earlier file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]                     # no temporary file left
    status, message = cli_errors.describe_os_error(info.value)
    assert status == EXIT_DISK_FULL and str(path) in message and "free space" in message


def test_full_disk_during_training_is_one_line_and_leaves_no_half_fold(tmp_path, synth_root, capsys, disk_full,
                                                                         one_thread):
    disk_full("model.pt")                       # options.json fits; the first checkpoint does not
    out = tmp_path / "run"
    status, _, err = run(mer_train, [MODEL, synth_root, "SMIC", *TRAIN_FAST, "--subjects", "s01", "--out", out],
                         capsys)
    assert status == EXIT_DISK_FULL
    (line,) = error_lines(err, "mer-train")
    assert f"no space left on the disk that holds {out / 'folds' / 's01' / 'model.pt'}" in line
    assert "free space" in line and "run the same command again to resume" in line
    assert "unexpected pos" not in err
    assert not (out / "folds" / "s01" / "result.json").exists() and not (out / "folds" / "s01" / "model.pt").exists()


# ------------------------------------------------------------------------------------- 2. truncated video
def test_truncated_video_keeps_what_it_read_and_says_so(tmp_path, capsys):
    video = truncated_video(tmp_path)
    frames_there = 0
    cap = cv2.VideoCapture(str(video))
    while cap.read()[0]:
        frames_there += 1
    cap.release()
    assert 0 < frames_there < REAL_VIDEO_FRAMES
    windows, events = tmp_path / "w.csv", tmp_path / "e.csv"
    argv = [*LIVE_FAST, "--source", video, "--out", windows, "--events", events]
    status, out, err = run(mer_live, argv, capsys)
    assert status == EXIT_INCOMPLETE
    (line,) = error_lines(err, "mer-live")
    assert f"read {frames_there} of {REAL_VIDEO_FRAMES} frames" in line and "--allow-partial" in line
    assert f"they went to {tmp_path / 'w.partial.csv'} and {tmp_path / 'e.partial.csv'}" in line
    assert not windows.exists() and not events.exists()        # partial rows never at --out/--events
    marker = f"# partial: read {frames_there} of {REAL_VIDEO_FRAMES} frames: the source ended "
    rows = (tmp_path / "w.partial.csv").read_text().splitlines()
    assert len(rows) > 2 and rows[-1].startswith(marker)                 # what was read is kept, marked
    assert (tmp_path / "e.partial.csv").read_text().splitlines()[-1] == rows[-1]
    assert f"partial input: read {frames_there} of {REAL_VIDEO_FRAMES} frames" in out
    status, out, err = run(mer_live, [*argv, "--allow-partial"], capsys)     # partial input accepted: at --out
    assert status == 0 and f"warning: read {frames_there} of {REAL_VIDEO_FRAMES} frames" in err
    assert windows.read_text().splitlines() == rows and events.read_text().splitlines()[-1] == rows[-1]


def test_truncated_video_leaves_an_earlier_complete_csv_byte_for_byte(tmp_path, capsys):
    keep, text = earlier_results(tmp_path)
    events = tmp_path / "events.csv"
    events.write_bytes(b"start,end,kind\r\n0.5000,0.9000,micro\r\n")
    before = keep.read_bytes(), events.read_bytes()
    argv = [*LIVE_FAST, "--source", truncated_video(tmp_path), "--out", keep, "--events", events]
    status, _, err = run(mer_live, argv, capsys)
    assert status == EXIT_INCOMPLETE and "--allow-partial" in err
    assert (keep.read_bytes(), events.read_bytes()) == before
    assert (tmp_path / "keep.partial.csv").read_text().splitlines()[-1].startswith("# partial: read ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "events.partial.csv",
                                                          "events.partial.watch.json", "keep.csv",
                                                          "keep.partial.csv", "truncated.mp4"]   # no temp file


# --------------------------------------------------------------------------------------- 3. unknown labels
def test_unknown_label_is_refused_naming_the_value_and_its_rows(tmp_path, synth_root, capsys, no_training):
    data, rows = casme2_with_typo(tmp_path, synth_root)
    assert rows
    status, _, err = run(mer_train, [MODEL, data, "CASME2", *TRAIN_FAST, "--out", tmp_path / "run"], capsys)
    assert status == EXIT_USAGE
    (line,) = error_lines(err, "mer-train")
    assert f"'hapiness' (rows {', '.join(map(str, rows))} of sheet " in line
    assert "--drop-unknown-labels" in line and "fear, sadness" in line


def test_dropping_unknown_labels_is_explicit_and_counted_beside_the_documented_exclusions(tmp_path, synth_root):
    data, rows = casme2_with_typo(tmp_path, synth_root)
    options = train_run.TrainOptions(model=MODEL, data_path=str(data), dataset="CASME2", drop_unknown_labels=True)
    index = train_run.load_clips(options)
    assert index.unknown == {"hapiness": len(rows)}
    assert index.dropped == {"fear": 2, "sadness": 1}                    # the documented ones, as before
    assert "happiness" not in {c.label_name for c in index.clips}
    assert "dropped 3 clips with unknown labels, as asked (hapiness 3)" in index.summary()
    assert train_run.empty_classes(index) == ["happiness"]


# ------------------------------------------------------------------------------------ 4. too-short clips
def test_one_frame_clip_is_refused_or_dropped_explicitly(tmp_path, synth_root, capsys, no_training):
    data = smic_copy(tmp_path, synth_root)
    clip = smic_clip(data)
    for frame in sorted(clip.iterdir())[1:]:
        frame.unlink()
    status, _, err = run(mer_train, [MODEL, data, "SMIC", *TRAIN_FAST, "--out", tmp_path / "run"], capsys)
    assert status == EXIT_USAGE
    (line,) = error_lines(err, "mer-train")
    assert f"{clip.name} (subject s01, 1 frame in {clip})" in line and "--drop-short-clips" in line
    options = train_run.TrainOptions(model=MODEL, data_path=str(data), dataset="SMIC", drop_short_clips=True)
    index = train_run.load_clips(options)
    assert clip.name not in {c.clip_id for c in index.clips} and len(index.clips) == 8
    assert "left out 1 clip(s) of fewer than 2 frames, as asked" in capsys.readouterr().err


def test_source_shorter_than_one_window_says_so_and_writes_nothing(tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):                          # 4 frames at 30 fps: 0.13 s, the demo model's window is 0.5 s
        cv2.imwrite(str(folder / f"img{i}.png"), rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    keep, text = earlier_results(tmp_path)
    status, out, err = run(mer_live, [*LIVE_FAST, "--source", folder, "--fps", "30", "--out", keep], capsys)
    assert status == EXIT_USAGE and keep.read_text() == text and not out
    (line,) = error_lines(err, "mer-live")
    assert "read 4 of 4 frames but they made no window" in line and "shorter than one window (0.50 s" in line


# ------------------------------------------------------------------ 5. one handler: corrupt input, bad model, Ctrl-C
def test_corrupt_crop_during_training_is_one_line_with_the_file_and_the_fix(tmp_path, synth_root, capsys):
    data = smic_copy(tmp_path, synth_root)
    clip = smic_clip(data)
    frame = sorted(clip.iterdir())[2]
    frame.write_bytes(b"BM broken")
    status, _, err = run(mer_train, [MODEL, data, "SMIC", *TRAIN_FAST, "--out", tmp_path / "run"], capsys)
    assert status == EXIT_UNREADABLE_INPUT
    (line,) = error_lines(err, "mer-train")
    assert f"corrupt or unsupported frame file {frame}" in line
    assert f"delete its clip folder {clip} and re-run mer-prepare" in line


def test_model_that_is_not_onnx_is_one_line_not_a_traceback(tmp_path, capsys):
    bad = tmp_path / "model.onnx"
    bad.write_text("this is not an ONNX model")
    status, out, err = run(mer_live, [*LIVE_FAST[:-2], "--source", REAL_VIDEO, "--model", bad], capsys)
    assert status == EXIT_BAD_MODEL and not out
    assert error_lines(err, "mer-live")[0].startswith(f"mer-live: error: {bad} is not an ONNX model")
    assert "mer-export" in err


def test_window_blames_the_model_not_the_video(qtbot, tmp_path, monkeypatch):
    pytest.importorskip("pytestqt")
    from PySide6.QtWidgets import QMessageBox

    from gui.main_window import MainWindow
    from gui.session import SourceChoice, build_engine

    monkeypatch.setattr(QMessageBox, "open", lambda self: None)
    bad = tmp_path / "model.onnx"
    bad.write_text("this is not an ONNX model")
    window = MainWindow(engine_factory=build_engine)
    qtbot.addWidget(window)
    window.set_source(SourceChoice("file", str(REAL_VIDEO)))
    window.model_path.setText(str(bad))
    assert window.start()
    qtbot.waitUntil(lambda: window.state != "starting", timeout=20000)
    text = window.error_boxes[0].text()
    assert text.startswith("Cannot use the model:") and "is not an ONNX model" in text
    assert REAL_VIDEO.name not in text


def test_ctrl_c_in_prepare_keeps_finished_clips_and_says_how_to_resume(tmp_path, raw_smic_root, monkeypatch, capsys):
    monkeypatch.setattr(prepare, "FaceDetector", FakeDetector(interrupt_after=2))
    root = raw_tree(tmp_path, raw_smic_root)
    status, _, err = run(mer_prepare, ["--dir", root, "--ext", "bmp", "--gpu", "-1"], capsys)
    assert status == EXIT_INTERRUPTED
    assert "mer-prepare: interrupted; finished clips are kept: run the same command again to resume" in err
    assert len(list((tmp_path / "SMIC_CROP").rglob(prepare.MARKER))) == 2


def test_debug_shows_the_traceback(tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    status = mer_synth([str(tmp_path / "a_file" / "data"), "--dataset", "SMIC", "--debug"])
    err = capsys.readouterr().err
    assert status == EXIT_CANNOT_WRITE and "Traceback" in err and "NotADirectoryError" in err


def test_exit_statuses_are_distinct_and_the_readme_explains_each():
    statuses = [v for k, v in vars(cli_errors).items() if k.startswith("EXIT_") and isinstance(v, int)]
    assert len(statuses) == len(set(statuses)) == len(cli_errors.EXIT_STATUSES)
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Reliability"):]
    section = section[: section.find("\n## ", 3) if "\n## " in section[3:] else len(section)]
    for status in statuses:
        assert re.search(rf"^\| {status} \|", section, re.MULTILINE), f"status {status} missing from the README"


# ---------------------------------------------------------------------------------------------- 6. smaller
class _Code:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_refused_checkpoint_never_invites_unsafe_loading(tmp_path):
    path = tmp_path / "model.pt"
    import torch

    torch.save({"format": "mer-live-checkpoint", "x": _Code()}, path)
    (tmp_path / "garbage.pt").write_bytes(b"garbage\n")
    for bad in (path, tmp_path / "garbage.pt"):
        with pytest.raises(Exception) as info:
            load_checkpoint(bad)
        message = str(info.value)
        assert str(bad) in message
        for advice in ("weights_only", "will likely succeed", "can still be loaded", "safe_globals"):
            assert advice not in message, message
    with pytest.raises(Exception, match=r"Python objects other than tensors \(.*GLOBAL"):
        load_checkpoint(path)


def test_corrupt_frame_message_fits_raw_and_cropped_frames(tmp_path):
    for folder in ("SMIC/s1/clip", "SMIC_CROP/s1/clip"):
        path = tmp_path / folder / "img1.bmp"
        path.parent.mkdir(parents=True)
        path.write_bytes(b"BM broken")
        with pytest.raises(FrameReadError) as info:
            read_frame(path)
        if folder.startswith("SMIC_CROP"):
            assert "re-run mer-prepare" in str(info.value) and str(path.parent) in str(info.value)
        else:
            assert "replace it with the original file from the dataset" in str(info.value)
            assert "mer-prepare" not in str(info.value)


def test_face_found_is_not_called_found_again_the_first_time():
    from mer_live.streaming.engine import Engine, EngineConfig
    from mer_live.streaming.sources import ArraySource

    class LateFace:                             # no face for the first 4 detections, then one for good
        calls = 0

        def detect(self, frame):
            self.calls += 1
            return None if self.calls < 5 else Face(np.float32([100, 60, 180, 160]), np.zeros((5, 2), np.float32),
                                                    0.99)

    class Classifier:
        spec = ModelSpec(model="fake", class_names=("a", "b"), num_frames=4, image_size=(32, 32),
                         feature="GRAY_OF", fps=30.0, clip_seconds=0.3)
        provider = "fake"

        def predict(self, x):
            return np.float32([[0.5, 0.5]])

    class Texts:
        def __init__(self):
            self.texts = []

        def on_status(self, message):
            self.texts.append(message.text)

    listener = Texts()
    frames = np.full((40, 240, 320, 3), 128, np.uint8)
    Engine(ArraySource(frames, fps=30.0), Classifier(), EngineConfig(detect_every=1), listener,
           detector=LateFace()).run()
    assert any(t.startswith("no face found yet") for t in listener.texts)
    assert any(t.startswith("face found at") for t in listener.texts)
    assert not any("found again" in t for t in listener.texts)


def test_redone_clip_leaves_no_stale_crop_or_landmark(tmp_path, raw_smic_root):
    root = raw_tree(tmp_path, raw_smic_root)
    clip = sorted(p.parent for p in root.rglob("*.bmp"))[0]
    detector = FakeDetector()
    crop_dir, landmark_dir = tmp_path / "crop", tmp_path / "landmarks"
    prepare.prepare_clip(detector, clip, crop_dir, landmark_dir, "bmp")
    removed = sorted(clip.glob("*.bmp"))[-1]
    removed.unlink()                              # the raw clip lost a frame; the clip is redone
    (crop_dir / prepare.MARKER).unlink()
    prepare.prepare_clip(detector, clip, crop_dir, landmark_dir, "bmp")
    assert sorted(p.name for p in crop_dir.glob("*.bmp")) == sorted(p.name for p in clip.glob("*.bmp"))
    assert sorted(p.stem for p in landmark_dir.glob("*.npy")) == sorted(p.stem for p in clip.glob("*.bmp"))
    assert not (crop_dir / removed.name).exists()


# ----------------------------------------------------------------------------- 7. no traceback, anywhere
def test_no_command_prints_a_traceback(tmp_path, synth_root, raw_smic_root, monkeypatch, capsys, disk_full):
    """Every command, once per kind of expected error: a status from the table, one error line, no traceback."""
    (tmp_path / "a_file").write_text("x")
    under_a_file = tmp_path / "a_file" / "out"
    bad_model = tmp_path / "bad.onnx"
    bad_model.write_text("not ONNX")
    bad_checkpoint = tmp_path / "bad.pt"
    bad_checkpoint.write_bytes(pickle.dumps({"x": 1}, protocol=2)[:5])
    undecodable = tmp_path / "clip.mp4"
    undecodable.write_bytes(b"\x00" * 2048)
    short_clip_data = smic_copy(tmp_path / "short", synth_root)
    for frame in sorted(smic_clip(short_clip_data).iterdir())[1:]:
        frame.unlink()
    typo_data, _ = casme2_with_typo(tmp_path / "typo", synth_root)
    cases = [
        (mer_prepare, ["--dir", tmp_path / "missing", "--ext", "bmp", "--gpu", "-1"], EXIT_USAGE),
        (mer_prepare, ["--dir", raw_tree(tmp_path / "p1", raw_smic_root), "--ext", "bmp", "--gpu", "-1"],
         EXIT_INTERRUPTED),
        (mer_train, [MODEL, synth_root, "SMIC", *TRAIN_FAST, "--out", under_a_file], EXIT_CANNOT_WRITE),
        (mer_train, [MODEL, typo_data, "CASME2", *TRAIN_FAST, "--out", tmp_path / "r1"], EXIT_USAGE),
        (mer_train, [MODEL, short_clip_data, "SMIC", *TRAIN_FAST, "--out", tmp_path / "r2"], EXIT_USAGE),
        (mer_export, [bad_checkpoint], EXIT_BAD_MODEL),
        (mer_export, [tmp_path / "missing.pt"], EXIT_USAGE),
        (mer_live, [*LIVE_FAST[:-2], "--source", REAL_VIDEO, "--model", bad_model], EXIT_BAD_MODEL),
        (mer_live, [*LIVE_FAST, "--source", undecodable], EXIT_UNREADABLE_INPUT),
        (mer_live, [*LIVE_FAST, "--source", REAL_VIDEO, "--out", under_a_file], EXIT_CANNOT_WRITE),
        (mer_live, [*LIVE_FAST, "--source", tmp_path / "nowhere.mp4"], EXIT_USAGE),
        (mer_synth, [under_a_file, "--dataset", "SMIC"], EXIT_CANNOT_WRITE),
    ]
    monkeypatch.setattr(prepare, "FaceDetector", FakeDetector(interrupt_after=0))
    seen = []
    for main, argv, expected in cases:
        status, _, err = run(main, argv, capsys)
        assert status == expected, (main.__module__, argv, err)
        seen.append(status)
    from mer_live.models import create_model

    spec = ModelSpec(model="ch1_resnext", class_names=("a", "b", "c"), num_frames=4, image_size=(32, 32),
                     feature="GRAY", variant="nano")
    net = create_model("ch1_resnext", 3, num_frames=4, image_size=(32, 32), variant="nano")
    save_checkpoint(tmp_path / "model.pt", Checkpoint(spec, net.state_dict(), {}))
    monkeypatch.setattr(prepare, "FaceDetector", FakeDetector())
    raw = raw_tree(tmp_path / "p2", raw_smic_root)
    disk_full()                                 # from here on every atomic write meets a full disk
    for main, argv in ((mer_prepare, ["--dir", raw, "--ext", "bmp", "--gpu", "-1"]),
                       (mer_train, [MODEL, synth_root, "SMIC", *TRAIN_FAST, "--out", tmp_path / "r3"]),
                       (mer_synth, [tmp_path / "synth", "--dataset", "SMIC", "--subjects", "1"]),
                       (mer_export, [tmp_path / "model.pt"]),
                       (mer_live, [*LIVE_FAST, "--source", truncated_video(tmp_path), "--out", tmp_path / "w.csv",
                                   "--allow-partial"])):
        status, _, err = run(main, argv, capsys)
        assert status == EXIT_DISK_FULL and "no space left" in err, (main.__module__, err)
    assert set(seen) | {EXIT_DISK_FULL} >= {EXIT_USAGE, EXIT_CANNOT_WRITE, EXIT_DISK_FULL, EXIT_UNREADABLE_INPUT,
                                             EXIT_BAD_MODEL, EXIT_INTERRUPTED}
