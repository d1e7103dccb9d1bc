"""mer-train end to end on the synthetic SMIC set (3 subjects x 3 classes, 32 px, 4 frames, nano model).

One short LOSO run (module fixture) is checked for every output; resume, torchrun and bad inputs are
checked against it.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mer_live.checkpoint import load_checkpoint
from mer_live.metrics import scores_from_predictions
from training import cli, fold, run as run_module

MODEL = "ch3_1_fusion_cnn_like"
FAST = ["--variant", "nano", "-imgsize", "32", "-num_frames", "4", "-bs", "3", "-ep", "2", "-lr", "1e-3",
        "--imbalanced_sampler", "--no-progress"]
FIGURES = ("acc", "uar", "uf1", "f1", "confusion")
LOG = "mer-train.stderr.log"


def mer_train(*args: str) -> int:
    return cli.main([str(a) for a in args])


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("clip_cache")


@pytest.fixture(scope="module")
def full_run(synth_root, cache_dir, tmp_path_factory, one_thread):
    """The run, with its progress on (stderr kept in LOG next to the run folder: a log, not a terminal)."""
    out = tmp_path_factory.mktemp("runs") / "full"
    with_progress = [a for a in FAST if a != "--no-progress"]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        rc = mer_train(MODEL, synth_root, "SMIC", *with_progress, "--out", out, "--cache-dir", cache_dir,
                       "-tb", "tb", "--subtb", "--visualize", "--final")
    (out.parent / LOG).write_text(stderr.getvalue())
    assert rc == 0
    return out


def figures(report: dict) -> dict:
    return {key: {k: report[key][k] for k in FIGURES} for key in ("honest", "test_selected")} | {
        "per_fold": report["per_fold"], "per_epoch": report["per_epoch"]}


def fold_probabilities(out: Path) -> dict[str, list]:
    return {d.name: json.loads((d / "predictions.json").read_text())["probs_last"]
            for d in sorted((out / "folds").iterdir())}


def assert_same_models(a: Path, b: Path) -> None:
    """Same held-out probabilities: the same models were trained, not merely the same argmax."""
    probs_a, probs_b = fold_probabilities(a), fold_probabilities(b)
    assert probs_a.keys() == probs_b.keys()
    for subject in probs_a:
        assert torch.allclose(torch.tensor(probs_a[subject]), torch.tensor(probs_b[subject]), atol=1e-5), subject


def test_loso_run_writes_every_output(full_run, synth_root):
    subjects = ["s01", "s02", "s03"]
    for s in subjects:
        for name in ("model.pt", "predictions.json", "result.json"):
            assert (full_run / "folds" / s / name).is_file(), (s, name)
        assert list((full_run / "folds" / s / "visualize").glob("*.png"))
    for name in ("report.json", "report.md", "confusion.png", "options.json", "final/model.pt", "final/result.json"):
        assert (full_run / name).is_file(), name
    tb = full_run / "tensorboard" / "tb"
    for writer in ("loso", "final", "subjects/s01", "subjects/s03", "visualize"):
        assert list((tb / writer).glob("events.out.tfevents.*")), writer

    ckpt = load_checkpoint(full_run / "folds" / "s02" / "model.pt")
    assert ckpt.info["held_out"] == "s02" and ckpt.info["epoch"] == 2 and ckpt.info["model"] == MODEL
    assert ckpt.info["options"]["lr"] == pytest.approx(1e-3)
    spec = ckpt.spec
    assert (spec.model, spec.class_names, spec.dataset, spec.fps) == (MODEL, ("ne", "po", "sur"), "SMIC", 100.0)
    assert (spec.num_frames, spec.image_size, spec.feature, spec.variant) == (4, (32, 32), "GRAY_OF", "nano")
    assert 0.05 <= spec.clip_seconds <= 0.12  # synthetic clips hold 6..12 frames at 100 fps
    final = load_checkpoint(full_run / "final" / "model.pt")
    assert final.info["held_out"] is None

    report_md = (full_run / "report.md").read_text()
    assert "last epoch (honest)" in report_md and "test-selected (optimistic, as the seed reported)" in report_md
    assert "| F1 ne | F1 po | F1 sur |" in report_md


def test_log_has_whole_lines_and_counts_the_folds_apart_from_the_final_model(full_run):
    log = (full_run.parent / LOG).read_text()
    assert "\r" not in log                                  # no bar redrawn with carriage returns in a log
    fold_lines = [line for line in log.splitlines() if "fold/s" in line or "s/fold" in line]
    assert fold_lines and fold_lines[-1].split("|")[2].split()[0] == "3/3", fold_lines   # 3 subjects, 3 folds
    assert "final model: training on every subject" in log


def test_report_figures_equal_metrics_recomputed_from_saved_predictions(full_run):
    report = json.loads((full_run / "report.json").read_text())
    truth, last, selected = [], [], []
    for fold_dir in sorted((full_run / "folds").iterdir()):
        predictions = json.loads((fold_dir / "predictions.json").read_text())
        result = json.loads((fold_dir / "result.json").read_text())
        truth += predictions["labels"]
        last += predictions["pred_last"]
        assert predictions["pred_last"] == predictions["pred_per_epoch"][-1]
        best = result["test_selected_epoch"] - 1
        assert predictions["pred_test_selected"] == predictions["pred_per_epoch"][best]
        selected += predictions["pred_per_epoch"][best]
    assert report["clips"] == len(truth) == 9 and report["folds"] == 3
    for key, preds in (("honest", last), ("test_selected", selected)):
        expected = scores_from_predictions(truth, preds, 3)
        for k in FIGURES:
            assert report[key][k] == expected[k], (key, k)  # JSON keeps floats exactly
    md = (full_run / "report.md").read_text()
    assert f"| {report['honest']['acc']:.4f} | {report['honest']['uar']:.4f} | {report['honest']['uf1']:.4f} |" in md


def test_resume_after_kill_matches_uninterrupted_run(full_run, synth_root, cache_dir, tmp_path, monkeypatch, one_thread):
    out = tmp_path / "resumed"
    args = [MODEL, synth_root, "SMIC", *FAST, "--out", out, "--cache-dir", cache_dir]
    real_train = run_module.train_model
    calls = []

    def killed_in_second_fold(*a, **kw):
        calls.append(a[4])
        if len(calls) == 2:
            raise KeyboardInterrupt  # as a kill in the middle of fold 2
        return real_train(*a, **kw)

    monkeypatch.setattr(run_module, "train_model", killed_in_second_fold)
    assert mer_train(*args) == 130
    assert (out / "folds" / "s01" / "result.json").is_file()
    assert not (out / "folds" / "s02" / "result.json").exists() and not (out / "report.json").exists()
    first_fold_time = (out / "folds" / "s01" / "result.json").stat().st_mtime_ns

    calls.clear()
    monkeypatch.setattr(run_module, "train_model", lambda *a, **kw: calls.append(a[4]) or real_train(*a, **kw))
    assert mer_train(*args) == 0
    assert calls == ["s02", "s03"]  # the finished fold is skipped, the interrupted one restarts
    assert (out / "folds" / "s01" / "result.json").stat().st_mtime_ns == first_fold_time
    resumed = json.loads((out / "report.json").read_text())
    uninterrupted = json.loads((full_run / "report.json").read_text())
    assert figures(resumed) == figures(uninterrupted)
    assert_same_models(out, full_run)

    # A finished run re-run only rebuilds the report.
    (out / "report.md").unlink()
    calls.clear()
    assert mer_train(*args) == 0
    assert calls == [] and (out / "report.md").is_file()


def test_test_selected_epoch_is_best_on_the_held_out_subject():
    """The seed's pick: highest held-out accuracy, ties broken by UF1, then the earliest epoch."""
    heldout = [{"acc": 0.5, "uf1": 0.9}, {"acc": 0.8, "uf1": 0.5}, {"acc": 0.8, "uf1": 0.7},
               {"acc": 0.8, "uf1": 0.7}, {"acc": 0.6, "uf1": 1.0}]
    assert fold.test_selected_epoch(heldout) == 2


def test_refuses_to_resume_into_a_folder_made_with_other_options(full_run, synth_root, cache_dir, capsys):
    args = [MODEL, synth_root, "SMIC", *FAST, "--out", full_run, "--cache-dir", cache_dir]
    args[args.index("-lr") + 1] = "5e-4"
    assert mer_train(*args) == 2
    err = capsys.readouterr().err
    assert "different options" in err and "lr" in err and "--out" in err


def test_two_ranks_under_torchrun_match_one_process(full_run, synth_root, cache_dir, tmp_path):
    out = tmp_path / "ranks"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "--module", "training.cli", MODEL, str(synth_root), "SMIC", *FAST, "--out", str(out),
           "--cache-dir", str(cache_dir), "--final"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (out / "final" / "model.pt").is_file()
    two_ranks = json.loads((out / "report.json").read_text())
    one_process = json.loads((full_run / "report.json").read_text())
    assert figures(two_ranks) == figures(one_process)
    assert_same_models(out, full_run)


# ---------------------------------------------------------------- bad input, refused before training
@pytest.fixture
def no_training(monkeypatch):
    def fail(*a, **kw):
        raise AssertionError("training started despite bad input")

    monkeypatch.setattr(run_module, "train_model", fail)


def error_of(capsys, *args) -> str:
    assert mer_train(*args) == 2
    return capsys.readouterr().err


def test_no_clips_says_where_it_looked_and_mer_prepare(tmp_path, capsys, no_training):
    err = error_of(capsys, MODEL, tmp_path, "SMIC", *FAST, "--out", tmp_path / "out")
    assert str(tmp_path) in err and "SMIC_CROP" in err and "mer-prepare" in err
    assert not (tmp_path / "out").exists()


def test_feature_channel_mismatch(synth_root, tmp_path, capsys, no_training):
    err = error_of(capsys, "ch3_3_fusion_cnn_like", synth_root, "SMIC", *FAST, "-feature", "GRAY_OF",
                   "--out", tmp_path / "out")
    assert "ch3_3_fusion_cnn_like" in err and "GRAY_OF" in err and "RGB_OF" in err


def test_unknown_model_lists_the_names(synth_root, tmp_path, capsys, no_training):
    err = error_of(capsys, "ch5_swin", synth_root, "SMIC", *FAST, "--out", tmp_path / "out")
    assert "unknown model 'ch5_swin'" in err and "ch3_1_fusion_cnn_like" in err and "ch4_resnext" in err


def test_image_size_the_model_cannot_take(synth_root, tmp_path, capsys, no_training):
    err = error_of(capsys, "ch3_timesformer", synth_root, "SMIC", *FAST, "-imgsize", "30",
                   "--out", tmp_path / "out")
    assert "30x30" in err and "-imgsize" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_asked_for_but_none_here(synth_root, tmp_path, capsys, no_training):
    err = error_of(capsys, MODEL, synth_root, "SMIC", *FAST, "-gpu", "0", "--out", tmp_path / "out")
    assert "no CUDA GPU" in err and "leave out -gpu" in err
    err = error_of(capsys, MODEL, synth_root, "SMIC", *FAST, "--amp", "--out", tmp_path / "out")
    assert "--amp" in err and "GPU" in err


def test_seed_spellings_and_long_options_mean_the_same():
    parser = cli.build_parser()
    seed_style = cli.options_from_args(parser.parse_args(
        "ch3_1_fusion_cnn_like /data SMIC -tb logs -imgsize 120 64 -feature GRAY_OF -interpol tim -num_frames 8 "
        "-bs 2 -lr 1e-4 -ep 5 -gpu 0 --imbalanced_sampler --subtb --visualize".split()), parser)
    long_style = cli.options_from_args(parser.parse_args(
        "ch3_1_fusion_cnn_like /data SMIC --tensorboard logs --image-size 120 64 --feature GRAY_OF "
        "--interpolation tim --num-frames 8 --batch-size 2 --lr 1e-4 --epochs 5 --gpu 0 --imbalanced-sampler "
        "--subject-tensorboard --visualize".split()), parser)
    assert seed_style == long_style
    assert seed_style.image_size == (120, 64) and seed_style.gpu == [0]
    defaults = cli.options_from_args(parser.parse_args(["ch3_swin", "/data", "SMIC"]), parser)
    assert (defaults.lr, defaults.batch_size, defaults.epochs, defaults.image_size, defaults.num_frames) == (
        1e-5, 1, 100, (224, 224), 16)
    assert defaults.feature == "RGB" and defaults.interpolation == "linear"  # the original code's defaults
    assert defaults.output_dir() == Path("runs/ch3_swin-SMIC")
    paper = cli.options_from_args(parser.parse_args(["ch3_1_fusion_cnn_like", "/data", "SMIC"]), parser)
    assert paper.feature == "GRAY_OF"
