"""mer-prepare: one box per clip centred on the face, landmarks, resume, and clear failures."""
import json
import shutil

import numpy as np
import pytest
import torch

from mer_live import prepare
from mer_live.datasets import load_dataset
from mer_live.face import Face, FaceDetector
from mer_live.frames import read_frame, write_frame


# MTCNN on a shared 2-core machine runs ~3x faster on one thread.
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def detector():
    return FaceDetector(device="cpu")


class InterruptAfter:
    """A detector that stops the run (like Ctrl-C) after `calls` detections."""

    def __init__(self, detector, calls):
        self.detector, self.calls = detector, calls

    def detect_many(self, frames):
        out = []
        for frame in frames:
            if self.calls == 0:
                raise KeyboardInterrupt
            self.calls -= 1
            out.append(self.detector.detect(frame))
        return out


def _snapshot(folder):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_crops_every_clip_with_one_centred_box_and_resumes(tmp_path, raw_smic_root, raw_smic_manifest,
                                                           detector, capsys):
    shutil.copytree(raw_smic_root / "SMIC", tmp_path / "SMIC")
    raw = tmp_path / "SMIC"
    before = _snapshot(raw)
    first_clip_frames = len(raw_smic_manifest.clips[0].frames)

    # A run killed in the middle of clip 2 leaves clip 1 finished and clip 2 without its marker.
    with pytest.raises(KeyboardInterrupt):
        prepare.prepare_tree(raw, "bmp", detector=InterruptAfter(detector, first_clip_frames + 2), progress=False)
    report = prepare.prepare_tree(raw, "bmp", detector=detector, progress=False)
    n = len(raw_smic_manifest.clips)
    assert (len(report.skipped), len(report.cropped), report.failed) == (1, n - 1, [])

    # Every clip: one square box for all frames, centred on the known face, crops = raw[box].
    crop_root, landmark_root = tmp_path / "SMIC_CROP", tmp_path / "SMIC_LANDMARK"
    for clip in raw_smic_manifest.clips:
        rel = clip.frames[0].parent.relative_to(raw_smic_root / "SMIC")
        info = json.loads((crop_root / rel / prepare.MARKER).read_text())
        x1, y1, x2, y2 = info["box"]
        fx1, fy1, fx2, fy2 = clip.face_box
        assert abs((x1 + x2) / 2 - (fx1 + fx2) / 2) <= 3 and abs((y1 + y2) / 2 - (fy1 + fy2) / 2) <= 4
        assert x2 - x1 == y2 - y1 and (x2 - x1) >= max(fx2 - fx1, fy2 - fy1)
        for frame_path in clip.frames:
            raw_frame = read_frame(tmp_path / "SMIC" / rel / frame_path.name)
            np.testing.assert_array_equal(read_frame(crop_root / rel / frame_path.name), raw_frame[y1:y2, x1:x2])
            points = np.load(landmark_root / rel / f"{frame_path.stem}.npy")
            assert points.shape == (5, 2) and np.isfinite(points).all()
            assert ((points >= 0) & (points < x2 - x1)).all()  # crop coordinates

    # The crops are a dataset the SMIC reader takes as it is; the raw tree was never written to.
    assert len(load_dataset(tmp_path, "SMIC").clips) == n
    assert _snapshot(raw) == before

    # A re-run skips everything (no detection at all); a clip whose marker is gone is redone.
    assert prepare.main(["--dir", str(raw), "--ext", "bmp", "--gpu", "-1"]) == 0
    assert f"cropped 0 clips, skipped {n} already finished" in capsys.readouterr().out
    rel = raw_smic_manifest.clips[-1].frames[0].parent.relative_to(raw_smic_root / "SMIC")
    (crop_root / rel / prepare.MARKER).unlink()
    (crop_root / rel / raw_smic_manifest.clips[-1].frames[0].name).write_bytes(b"half a fr")
    report = prepare.prepare_tree(raw, "bmp", detector=detector, progress=False)
    assert (len(report.skipped), len(report.cropped)) == (n - 1, 1)
    read_frame(crop_root / rel / raw_smic_manifest.clips[-1].frames[0].name)  # restored


class FixedFace:
    """A detector that finds the same (non-square, fractional) face box on every frame."""

    def __init__(self, box):
        self.box = np.array(box, np.float32)

    def detect_many(self, frames):
        points = np.tile(self.box[:2] + 5, (5, 1)).astype(np.float32)
        return [Face(box=self.box, landmarks=points, prob=0.99) for _ in frames]


def test_original_crop_is_the_raw_mtcnn_rectangle_and_settings_are_not_mixed(tmp_path, capsys):
    """--crop original: the original's prepare.py, `img[int(y1):int(y2), int(x1):int(x2)]`, saved as it is."""
    rng = np.random.default_rng(0)
    clip = tmp_path / "D" / "s1" / "clip"
    frames = [rng.integers(0, 255, (96, 128, 3), dtype=np.uint8) for _ in range(3)]
    for i, frame in enumerate(frames):
        write_frame(clip / f"img{i}.png", frame)
    x1, y1, x2, y2 = 20.7, 9.2, 61.9, 70.8
    report = prepare.prepare_tree(tmp_path / "D", "png", detector=FixedFace((x1, y1, x2, y2)), progress=False,
                                  crop_mode="original")
    assert len(report.cropped) == 1
    for i, frame in enumerate(frames):
        original = frame[int(y1):int(y2), int(x1):int(x2)]
        np.testing.assert_array_equal(read_frame(tmp_path / "D_CROP" / "s1" / "clip" / f"img{i}.png"), original)
    assert original.shape[:2] == (61, 41)                         # not square, no margin, not resized
    info = json.loads((tmp_path / "D_CROP" / "s1" / "clip" / prepare.MARKER).read_text())
    assert info["crop"] == "original" and info["box"] == [20, 9, 61, 70]

    with pytest.raises(prepare.PrepareError, match="cropped with --crop original, not --crop square"):
        prepare.prepare_tree(tmp_path / "D", "png", detector=FixedFace((x1, y1, x2, y2)), progress=False)
    with pytest.raises(SystemExit):
        prepare.main(["--dir", str(tmp_path / "D"), "--ext", "png", "--crop", "original", "--margin", "0.3"])
    assert "--margin applies to --crop square only" in capsys.readouterr().err


def test_clip_without_face_and_corrupt_frame_are_listed_and_exit_nonzero(tmp_path, raw_smic_manifest, capsys):
    good = raw_smic_manifest.clips[0]
    rng = np.random.default_rng(0)
    faceless = tmp_path / "D" / "s1" / "noface"
    for i in (8, 9, 10):
        write_frame(faceless / f"image{i}.bmp", rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
    corrupt = tmp_path / "D" / "s1" / "corrupt"
    shutil.copytree(good.frames[0].parent, corrupt)
    (corrupt / good.frames[1].name).write_bytes(b"BM broken")
    assert prepare.main(["--dir", str(tmp_path / "D"), "--ext", "bmp", "--gpu", "-1"]) == 1
    err = capsys.readouterr().err
    assert "2 clip(s) could not be cropped" in err
    assert f"{faceless}: no face found in any of its 3 frames" in err
    assert str(corrupt) in err and good.frames[1].name in err
    assert not (tmp_path / "D_CROP" / "s1" / "noface" / prepare.MARKER).exists()


def test_landmarks_are_nan_on_frames_without_a_face(tmp_path, raw_smic_manifest, detector):
    clip = raw_smic_manifest.clips[0]
    folder = tmp_path / "D" / "clip"
    shutil.copytree(clip.frames[0].parent, folder)
    write_frame(folder / clip.frames[0].name, np.full((96, 128, 3), 90, np.uint8))  # face missing at first
    info = prepare.prepare_clip(detector, folder, tmp_path / "C", tmp_path / "L", "bmp")
    assert info["face_frame"] == clip.frames[1].name and info["frames_without_face"] == 1
    assert np.isnan(np.load(tmp_path / "L" / f"{clip.frames[0].stem}.npy")).all()
    assert np.isfinite(np.load(tmp_path / "L" / f"{clip.frames[1].stem}.npy")).all()


def test_sheets_are_copied_to_the_same_place(tmp_path):
    (tmp_path / "SAMM" / "006").mkdir(parents=True)
    (tmp_path / "SAMM" / "SAMM_Micro_FACS_Codes_v2.xlsx").write_bytes(b"sheet")
    copied = prepare.copy_sheets(tmp_path / "SAMM", tmp_path / "SAMM_CROP")
    assert copied == [tmp_path / "SAMM_CROP" / "SAMM_Micro_FACS_Codes_v2.xlsx"]
    assert copied[0].read_bytes() == b"sheet"
    assert prepare.output_dirs(tmp_path / "SAMM") == (tmp_path / "SAMM_CROP", tmp_path / "SAMM_LANDMARK")


def test_wrong_dir_and_wrong_extension_are_clear(tmp_path, raw_smic_root, capsys):
    assert prepare.main(["--dir", str(tmp_path / "nope"), "--ext", "bmp", "--gpu", "-1"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert prepare.main(["--dir", str(raw_smic_root / "SMIC"), "--ext", "jpg", "--gpu", "-1"]) == 2
    err = capsys.readouterr().err
    assert "no *.jpg frames" in err and ".bmp" in err
    assert not (raw_smic_root / "SMIC_CROP").exists()


def test_device_choice(capsys):
    assert prepare.choose_device(-1) == "cpu"
    if not torch.cuda.is_available():
        assert prepare.choose_device(0) == "cpu"
        assert "CUDA is not available" in capsys.readouterr().err


class NoDetector:
    def detect_many(self, frames):
        raise AssertionError("the refusal must come before any clip is cropped")


@pytest.mark.parametrize("link", ["SMIC_CROP", "SMIC_LANDMARK", "SMIC_CROP/HS"])
def test_outputs_through_a_symlink_into_d_are_refused_before_anything_is_written(tmp_path, raw_smic_root, link,
                                                                                 capsys):
    shutil.copytree(raw_smic_root / "SMIC", tmp_path / "SMIC")
    raw = tmp_path / "SMIC"
    before = {p: p.read_bytes() for p in raw.rglob("*") if p.is_file()}
    target = raw / "HS" if link == "SMIC_CROP/HS" else raw   # a symlink at the top, or one folder down
    (tmp_path / link).parent.mkdir(exist_ok=True)
    (tmp_path / link).symlink_to(target, target_is_directory=True)
    with pytest.raises(prepare.PrepareError, match="overlaps the raw dataset"):
        prepare.prepare_tree(raw, "bmp", detector=NoDetector(), progress=False)
    assert prepare.main(["--dir", str(raw), "--ext", "bmp", "--gpu", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "never writes into D" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in raw.rglob("*") if p.is_file()} == before   # nothing of D touched


def test_output_that_holds_d_is_refused(tmp_path):
    (tmp_path / "SMIC_CROP").mkdir()
    with pytest.raises(prepare.PrepareError, match="overlaps"):
        prepare.check_outputs_apart(tmp_path / "SMIC_CROP" / "SMIC", [tmp_path / "SMIC_CROP"])
    with pytest.raises(prepare.PrepareError, match="overlapping"):
        prepare.check_outputs_apart(tmp_path / "D", [tmp_path / "A", tmp_path / "A" / "B"])
    prepare.check_outputs_apart(tmp_path / "SMIC", [tmp_path / "SMIC_CROP", tmp_path / "SMIC_LANDMARK"])


@pytest.mark.parametrize("margin", ["nan", "-5", "inf", "11"])
def test_margin_is_checked_when_the_command_line_is_parsed(margin, capsys, monkeypatch):
    monkeypatch.setattr(prepare, "choose_device", lambda gpu: pytest.fail("parsed past a bad --margin"))
    with pytest.raises(SystemExit) as exit_:
        prepare.main(["--dir", ".", "--margin", margin])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--margin" in err and "Traceback" not in err
