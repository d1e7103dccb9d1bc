"""mer-train against a hostile or careless user: numbers refused when the command line is parsed, one run
at a time in an `--out` folder, temporary files of a killed run swept, no `options.json` left by a run
that failed before training, and a damaged JSON file of an earlier run met in one line or trained again."""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import torch

from mer_live.atomic import atomic_path
from mer_live.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from mer_live.cli_errors import EXIT_CANNOT_WRITE, EXIT_DISK_FULL, EXIT_UNREADABLE_INPUT, describe_os_error
from mer_live.folder_lock import LOCK_NAME, folder_lock
from mer_live.spec import ModelSpec
from training import cli, run as run_module

MODEL = "ch3_1_fusion_cnn_like"


@pytest.mark.parametrize("option, value", [("-lr", "nan"), ("-lr", "-1"), ("-lr", "inf"), ("-lr", "0"),
                                           ("--workers", "-1"), ("--seed", "-1"), ("-bs", "0"), ("-ep", "0"),
                                           ("-num_frames", "0"), ("-imgsize", "-4"), ("--clip-grad", "nan"),
                                           ("--warmup-epochs", "-1"), ("--retry-collapsed", "-2")])
def test_numbers_are_checked_when_the_command_line_is_parsed(option, value, capsys, monkeypatch):
    monkeypatch.setattr(run_module, "run", lambda options: pytest.fail(f"{option} {value} was accepted"))
    with pytest.raises(SystemExit) as exit_:
        cli.main([MODEL, "/data", "SMIC", option, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert option in err and value in err and "Traceback" not in err
    assert len(err.strip().splitlines()[-1]) < 200


# ---------------------------------------------------------------- one run at a time in --out
FAST = ["--variant", "nano", "-imgsize", "32", "-num_frames", "4", "-bs", "3", "-ep", "1", "-lr", "1e-3",
        "--no-progress"]
HOLDER = """
import sys, time
from mer_live.folder_lock import folder_lock
with folder_lock(sys.argv[1], sys.argv[2]):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding tmp_path/out's lock, as a first mer-train would; killed -9 by the test."""
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(out), "mer-train ch3_1_fusion_cnn_like D SMIC --seed 0"],
                               stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout.readline().strip() == "held"
    yield process, out
    process.kill()
    process.wait()


def test_a_second_run_into_a_held_folder_is_refused_naming_the_holder(holder, synth_root, capsys, monkeypatch):
    process, out = holder
    theirs = out / "folds" / "s01" / ".model.pt.k2j4l6m8.tmp"     # the first run's checkpoint, being written
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b"half a checkpoint")
    monkeypatch.setattr(run_module, "load_clips", lambda options: pytest.fail("the refused run went on"))
    assert cli.main([MODEL, str(synth_root), "SMIC", *FAST, "--out", str(out), "--seed", "7"]) == EXIT_CANNOT_WRITE
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"mer-train: error: {out} is in use by another run")
    assert f"pid {process.pid} on " in err and "started 20" in err
    assert "mer-train ch3_1_fusion_cnn_like D SMIC --seed 0" in err
    assert theirs.read_bytes() == b"half a checkpoint"                # the holder's files are not the refused run's
    assert not (out / "options.json").exists()

    process.kill()                                                     # kill -9: the kernel drops the lock
    process.wait()
    with folder_lock(out, "next"):
        assert json.loads((out / LOCK_NAME).read_text())["command"] == "next"
    assert not (out / LOCK_NAME).exists()


def test_the_lock_file_names_this_run_while_it_trains(tmp_path, synth_root, monkeypatch):
    out = tmp_path / "out"
    seen = {}

    def inside(options, ctx, device):
        seen.update(json.loads((out / LOCK_NAME).read_text()))

    monkeypatch.setattr(run_module, "_run", inside)
    assert cli.main([MODEL, str(synth_root), "SMIC", *FAST, "--out", str(out)]) == 0
    assert seen["pid"] == os.getpid() and seen["command"].startswith(f"mer-train {MODEL} ")
    assert not out.exists()             # nothing written: the folder the lock made is gone with it


# ---------------------------------------------------------------- what a kill -9 left
def test_temporary_files_of_a_killed_run_are_swept_at_the_next_start(tmp_path, synth_root, monkeypatch):
    out = tmp_path / "out"
    with atomic_path(out / "folds" / "s01" / "model.pt") as tmp:      # the writer's own naming
        made = tmp.name
    left = [out / "folds" / "s01" / made, out / ".options.json.ab_3x9z0.tmp", out / "final" / ".result.json.q1w2e3r4.tmp"]
    kept = [out / "notes.tmp", out / ".hidden.tmp", out / "folds" / ".x.ABCDEFGH.tmp", out / "folds" / "s01" / "model.pt",
            tmp_path / ".elsewhere.abcdefgh.tmp"]
    for path in left + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    monkeypatch.setattr(run_module, "_run", lambda options, ctx, device: None)
    assert cli.main([MODEL, str(synth_root), "SMIC", *FAST, "--out", str(out)]) == 0
    assert [p for p in left if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []


# ---------------------------------------------------------------- a run that failed before training
def test_a_run_that_failed_early_leaves_no_options_to_refuse_the_corrected_command(tmp_path, synth_root, capsys):
    """A corrupt frame stops the first run while the cache fills; the corrected command (the intact copy of
    the dataset, another DATA_PATH) must then train in the same --out, not be told it differs."""
    broken = tmp_path / "broken"
    shutil.copytree(synth_root / "SMIC_CROP", broken / "SMIC_CROP")
    frame = sorted(p for p in (broken / "SMIC_CROP").rglob("*.bmp"))[3]
    frame.write_bytes(b"BM broken")
    out = tmp_path / "out"
    fast = [*FAST, "--subjects", "s01", "--cache-dir", ""]
    assert cli.main([MODEL, str(broken), "SMIC", *fast, "--out", str(out)]) == EXIT_UNREADABLE_INPUT
    assert "corrupt or unsupported frame" in capsys.readouterr().err
    assert not (out / "options.json").exists()

    assert cli.main([MODEL, str(synth_root), "SMIC", *fast, "--out", str(out)]) == 0, capsys.readouterr().err
    assert (out / "folds" / "s01" / "result.json").is_file()
    assert json.loads((out / "options.json").read_text())["data_path"] == str(Path(synth_root).resolve())


# ---------------------------------------------------------------- a sheet naming frames outside the dataset
@pytest.mark.parametrize("dataset", ["CASME2", "CDE"])
def test_a_sheet_naming_a_clip_outside_the_dataset_stops_training_in_one_line(dataset, tmp_path, synth_root, capsys,
                                                                              monkeypatch):
    data = tmp_path / "data"
    for part in ("SMIC_CROP", "CASME2", "SAMM"):
        shutil.copytree(synth_root / part, data / part)
    sheet = data / "CASME2" / "CASME2-coding-20190701.xlsx"
    workbook = openpyxl.load_workbook(sheet)
    ws = workbook.active
    column = [c.value for c in ws[1]].index("Filename")
    ws.cell(row=3, column=column + 1).value = "../../../../outside/secret"
    workbook.save(sheet)
    monkeypatch.setattr(run_module, "check_model", lambda *a: pytest.fail("the run went on past the sheet"))
    out = tmp_path / "out"
    assert cli.main([MODEL, str(data), dataset, *FAST, "--out", str(out)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"mer-train: error: label sheet {sheet}: Filename must be one clip folder's name")
    assert "row 3 '../../../../outside/secret'" in line and "mer-prepare" not in line
    assert not out.exists()


def test_cde_missing_listed_clips_stop_training_in_one_line_unless_partial(tmp_path, synth_root, capsys,
                                                                          monkeypatch):
    monkeypatch.setattr(run_module, "check_model", lambda *a: pytest.fail("the run went on past the data"))
    out = tmp_path / "out"
    # the synthetic trees hold few of the published MEGC 2019 list's clips
    assert cli.main([MODEL, str(synth_root), "CDE", *FAST, "--out", str(out)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("mer-train: error: CDE (MEGC 2019 composite): ") and "of the list's 442 clips" in line
    assert "--cde-partial" in line and "not comparable" in line and not out.exists()
    monkeypatch.undo()
    # --cde-partial: the listed clips present, and the report says what is missing and that it is not comparable
    assert cli.main([MODEL, str(synth_root), "CDE", *FAST, "--cde-partial", "--cache-dir", "", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["options"]["cde_partial"] is True
    missing = [n for n in report["data_notes"] if "is in the MEGC 2019 list but not under" in n]
    assert len(missing) == 442 - report["clips"] and "- CDE: CASME2 sub01/EP19_05f is in the MEGC 2019 list" in \
        (out / "report.md").read_text()
    assert "not comparable with published MEGC 2019 results" in report["data_notes"][-1]
    assert report["data_notes"][-1] in (out / "report.md").read_text()


# ---------------------------------------------------------------- a damaged file of an earlier run in --out
RESUME = [*FAST, "--subjects", "s01", "--cache-dir", ""]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, synth_root):
    """A finished one-fold run; each test damages a copy of it."""
    out = tmp_path_factory.mktemp("finished") / "out"
    assert cli.main([MODEL, str(synth_root), "SMIC", *RESUME, "--out", str(out)]) == 0
    return out


def half(path: Path) -> None:
    text = path.read_text()
    path.write_text(text[:len(text) // 2])


@pytest.mark.parametrize("name", ["predictions.json", "result.json"])
def test_a_damaged_fold_file_is_trained_again_and_said(name, finished_run, tmp_path, synth_root, capsys):
    out = tmp_path / "out"
    shutil.copytree(finished_run, out)
    half(out / "folds" / "s01" / name)
    capsys.readouterr()
    assert cli.main([MODEL, str(synth_root), "SMIC", *RESUME, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"warning: {out / 'folds' / 's01' / name} is damaged (not complete JSON" in err
    assert "training folds/s01 again" in err
    for done in ("predictions.json", "result.json"):
        assert json.loads((out / "folds" / "s01" / done).read_text())["subject"] == "s01"


@pytest.mark.parametrize("damage", ["truncated", "a list"])
def test_a_damaged_options_file_stops_the_resume_in_one_line(damage, finished_run, tmp_path, synth_root, capsys,
                                                             monkeypatch):
    out = tmp_path / "out"
    shutil.copytree(finished_run, out)
    options = out / "options.json"
    half(options) if damage == "truncated" else options.write_text("[1, 2]")
    monkeypatch.setattr(run_module, "check_model", lambda *a: pytest.fail("the run went on past options.json"))
    capsys.readouterr()
    assert cli.main([MODEL, str(synth_root), "SMIC", *RESUME, "--out", str(out)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"mer-train: error: {options} is damaged (")
    assert "give another --out, or delete that file" in line


# ---------------------------------------------------------------- a full disk while torch.save writes
def unexpected_pos(obj, handle, *args, **kwargs):
    """torch.save on a disk that filled up mid-file: its zip writer's end record no longer lines up."""
    handle.write(b"PK\x03\x04 half")
    raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 1792 vs 1690")


def unexpected_pos_after_enospc(obj, handle, *args, **kwargs):
    try:
        raise OSError(errno.ENOSPC, "No space left on device")
    except OSError:
        unexpected_pos(obj, handle)


@pytest.mark.parametrize("save", [unexpected_pos, unexpected_pos_after_enospc])
def test_unexpected_pos_from_torch_save_is_a_full_disk_naming_the_checkpoint(save, tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    spec = ModelSpec(model="ch1_resnext", class_names=("a", "b"), num_frames=4, image_size=(32, 32))
    save_checkpoint(path, Checkpoint(spec, {"w": torch.ones(3)}, {}))
    monkeypatch.setattr(torch, "save", save)
    with pytest.raises(OSError) as info:
        save_checkpoint(path, Checkpoint(spec, {"w": torch.zeros(3)}, {}))
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert describe_os_error(info.value)[0] == EXIT_DISK_FULL
    monkeypatch.undo()
    assert float(load_checkpoint(path).state_dict["w"][0]) == 1.0           # the earlier file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]             # no temporary file left


def test_a_full_disk_while_saving_the_final_model_is_status_4_in_one_line(tmp_path, synth_root, capsys, monkeypatch):
    monkeypatch.setattr(torch, "save", unexpected_pos)
    out = tmp_path / "out"
    assert cli.main([MODEL, str(synth_root), "SMIC", *FAST, "--final-only", "--cache-dir", "", "--out", str(out)]) \
        == EXIT_DISK_FULL
    err = capsys.readouterr().err
    assert "Traceback" not in err and "unexpected pos" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("mer-train: error:")]
    assert line.startswith(f"mer-train: error: no space left on the disk that holds {out / 'final' / 'model.pt'}")
    assert not (out / "final" / "result.json").exists() and not (out / "final" / "model.pt").exists()
