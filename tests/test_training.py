"""mer-train end to end on the synthetic SMIC set (3 subjects x 3 classes, 32 px, 4 frames, nano model).

One short LOSO run (module fixture) is checked for every output; resume, torchrun (both modes), the
collapse guard, determinism and bad inputs are checked against it.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
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


def assert_close(a, b, path="report") -> None:
    """Equal structures; floats equal to 1e-5, or to 1e-5 of their size (a loss of 4.5 summed in another order
    differs by a few 1e-5 in float32)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-5), path
    else:
        assert a == b, path


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
    assert_one_clip_per_class_shown(full_run, synth_root)
    for name in ("report.json", "report.md", "confusion.png", "options.json", "final/model.pt", "final/result.json"):
        assert (full_run / name).is_file(), name
    tb = full_run / "tensorboard" / "tb"
    for writer in ("loso", "loso/hparams", "final", "subjects/s01", "subjects/s03", "visualize"):
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
    for name in ("last epoch (honest)", "test-selected per subject (optimistic; the original code's reported figure)",
                 "best single epoch (optimistic; the original code's second figure)", "| F1 ne | F1 po | F1 sur |",
                 "## Per epoch", "held-out loss"):
        assert name in report_md, name
    assert "seed" not in report_md.replace("seed 0", "")  # a random seed only, never the original code


def test_tensorboard_holds_what_the_original_code_logged(full_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    def tags(folder):
        events = EventAccumulator(str(folder), size_guidance={"images": 0, "scalars": 0})
        events.Reload()
        return events

    tb = full_run / "tensorboard" / "tb"
    loso = tags(tb / "loso")
    for tag in ("UF1/train", "UF1/held-out", "Acc/train", "UAR/held-out", "Loss/train", "Loss/held-out"):
        assert [e.step for e in loso.Scalars(tag)] == [1, 2], tag
    assert [e.step for e in loso.Images("Confusion")] == [1, 2]
    assert loso.Images("BestConfusion/test-selected") and loso.Images("BestConfusion/best-epoch")
    hparams = b"".join(p.read_bytes() for p in (tb / "loso" / "hparams").glob("events.out.tfevents.*"))
    assert b"hparams" in hparams and b"imbalanced_sampler" in hparams and b"test_selected/uf1" in hparams
    subject = tags(tb / "subjects" / "s02")
    assert [e.step for e in subject.Scalars("Loss/held-out")] == [1, 2]
    videos = tags(tb / "visualize")
    gifs = sorted(t for t in videos.Tags()["images"] if t.endswith("/video"))
    # every epoch (steps 1 and 2), as the original: per fold 3 training + 3 held-out clips, the final model 3
    assert len(gifs) == 3 * 6 + 3, gifs
    assert {t.split("/")[0] for t in gifs} == {"s01", "s02", "s03", "final"}
    assert [t.split("/")[1] for t in gifs].count("train") == 3 * 3 + 3
    for tag in gifs:
        shots = videos.Images(tag)
        assert [e.step for e in shots] == [1, 2], tag
        assert all(e.encoded_image_string[:4] == b"GIF8" for e in shots)


def assert_one_clip_per_class_shown(out: Path, synth_root: Path) -> None:
    """--visualize: the last epoch's strips hold one training and one held-out clip of each class."""
    from mer_live.datasets import load_dataset

    index = load_dataset(synth_root, "SMIC")
    label_of = {c.clip_id: c.label for c in index.clips}
    subject_of = {c.clip_id: c.subject for c in index.clips}
    for folder in [out / "folds" / s for s in ("s01", "s02", "s03")] + [out / "final"]:
        names = sorted(p.stem for p in (folder / "visualize").glob("*.png"))
        for split in ("train", "held-out") if folder.name != "final" else ("train",):
            clips = [n.removeprefix(f"{split}-") for n in names if n.startswith(f"{split}-")]
            assert sorted(label_of[c] for c in clips) == [0, 1, 2], (folder, split, names)
            held_out = [subject_of[c] == folder.name for c in clips]
            assert all(held_out) if split == "held-out" else not any(held_out), (folder, split, clips)
        assert len(names) == (3 if folder.name == "final" else 6), names


def original_scores(cm: np.ndarray) -> tuple[float, float, float]:
    """Acc, UAR, UF1 as the original code's meter.py computes them: means over ALL classes, 0/0 counting 0."""
    tp = np.diag(cm)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    denominator = 2 * tp + (predicted - tp) + (support - tp)
    f1 = np.divide(2 * tp, denominator, out=np.zeros(len(cm)), where=denominator != 0)
    recall = np.divide(tp, support, out=np.zeros(len(cm)), where=support != 0)
    return tp.sum() / cm.sum(), recall.mean(), f1.mean()


def confusion(truth, pred, k=3) -> np.ndarray:
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (np.asarray(truth), np.asarray(pred)), 1)
    return cm


def test_log_has_whole_lines_and_counts_the_folds_apart_from_the_final_model(full_run):
    log = (full_run.parent / LOG).read_text()
    assert "\r" not in log                                  # no bar redrawn with carriage returns in a log
    lines = log.splitlines()
    assert not [line for line in lines if "|" in line or "#" in line], log   # sentences, no drawn bars
    loso = [line for line in lines if ": fold " in line and "/3 (" in line]
    assert loso and loso[-1].startswith("held out s03: fold 3/3 (100%"), loso    # 3 subjects, 3 folds
    assert "final model: training on every subject" in log
    for name in ("fold s01", "fold s02", "fold s03", "final model"):   # which fold, which epoch of how many
        last = [line for line in lines if line.startswith(f"{name}: epoch ")][-1]
        assert last.startswith(f"{name}: epoch 2/2 (100%, ") and "; loss=" in last and "train UF1=" in last, last
    # figures only beside the epoch they belong to (a log read "0/10 ... train UF1=1.00" after epoch 1)
    assert not [line for line in lines if "epoch 0/" in line and "UF1" in line], log


def test_every_logged_epoch_line_carries_the_figures_of_that_epoch(synth_root, cache_dir, tmp_path, monkeypatch,
                                                                   one_thread):
    """A line per epoch (as a slow run logs them, every 10 s): the figures sit beside the epoch they are of."""
    from mer_live import progress

    monkeypatch.setattr(fold, "progress", lambda *a, **k: progress.progress(*a, **k, log_every_s=0))
    with_progress = [a for a in FAST if a != "--no-progress"]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert mer_train(MODEL, synth_root, "SMIC", *with_progress, "--final-only", "--out", tmp_path / "run",
                         "--cache-dir", cache_dir) == 0
    lines = [line for line in stderr.getvalue().splitlines() if line.startswith("final model: epoch ")]
    assert [line.split(" (")[0] for line in lines] == [f"final model: epoch {n}/2" for n in (0, 1, 2)], lines
    assert "loss=" not in lines[0] and all("; loss=" in line and "train UF1=" in line for line in lines[1:]), lines


def test_report_figures_equal_metrics_recomputed_from_saved_predictions(full_run):
    """Honest: last epoch pooled. Test-selected: per subject the FIRST epoch of highest UF1 (original formula),
    confusions summed. Best epoch: the one epoch of highest pooled UF1. All from predictions.json alone."""
    report = json.loads((full_run / "report.json").read_text())
    truth, last = [], []
    selected = np.zeros((3, 3), np.int64)
    per_epoch = [np.zeros((3, 3), np.int64) for _ in range(2)]
    for fold_dir in sorted((full_run / "folds").iterdir()):
        predictions = json.loads((fold_dir / "predictions.json").read_text())
        labels, epochs = predictions["labels"], predictions["pred_per_epoch"]
        truth += labels
        last += predictions["pred_last"]
        assert predictions["pred_last"] == epochs[-1]
        uf1 = [original_scores(confusion(labels, p))[2] for p in epochs]
        first_best = uf1.index(max(uf1))
        assert json.loads((fold_dir / "result.json").read_text())["test_selected_epoch"] == first_best + 1
        selected += confusion(labels, epochs[first_best])
        for e, p in enumerate(epochs):
            per_epoch[e] += confusion(labels, p)
    assert report["clips"] == len(truth) == 9 and report["folds"] == 3
    expected = scores_from_predictions(truth, last, 3)
    for k in FIGURES:
        assert report["honest"][k] == expected[k], k  # JSON keeps floats exactly
    assert report["test_selected"]["confusion"] == selected.tolist()
    assert (report["test_selected"]["acc"], report["test_selected"]["uar"], report["test_selected"]["uf1"]) == \
        pytest.approx(original_scores(selected))
    pooled_uf1 = [original_scores(cm)[2] for cm in per_epoch]
    best = pooled_uf1.index(max(pooled_uf1))
    assert report["best_epoch"]["epoch"] == best + 1 and report["best_epoch"]["confusion"] == per_epoch[best].tolist()
    assert report["best_epoch"]["uf1"] == pytest.approx(pooled_uf1[best])
    md = (full_run / "report.md").read_text()
    assert f"| {report['honest']['acc']:.4f} | {report['honest']['uar']:.4f} | {report['honest']['uf1']:.4f} |" in md
    assert "all classes averaged, an undefined class counting 0" in md and "left out of UAR/UF1" in md


def test_collapsed_folds_are_named_in_report_json_and_md(full_run, capsys):
    """Two epochs at lr 1e-3 do not fit the training data: every such fold is named, none is dropped."""
    report = json.loads((full_run / "report.json").read_text())
    did_not_fit = []
    for fold_dir in sorted((full_run / "folds").iterdir()):
        last = json.loads((fold_dir / "result.json").read_text())["per_epoch"][-1]
        cm = np.asarray(last["train_confusion"])
        one_class = (cm.sum(axis=0) > 0).sum() == 1
        if one_class or original_scores(cm)[2] < 1 / 3 + 0.1:
            did_not_fit.append(fold_dir.name)
    assert did_not_fit, "this run was meant to collapse"
    assert report["collapsed_folds"] == did_not_fit
    assert [f["subject"] for f in report["per_fold"] if f["collapsed"]] == did_not_fit
    assert report["folds"] == 3 and report["clips"] == 9        # nothing dropped
    md = (full_run / "report.md").read_text()
    section = md[md.index("## Did every fold fit"):md.index("## Pooled confusion")]
    assert f"{len(did_not_fit)} of 3 folds did not fit their training data" in section
    for subject in did_not_fit:
        assert f"| {subject} |" in section
    assert "a lower -lr" in section and "--retry-collapsed" in section


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


def test_same_command_and_seed_give_the_same_report(synth_root, cache_dir, tmp_path, one_thread):
    out = tmp_path / "again"
    args = [MODEL, synth_root, "SMIC", *FAST, "--subjects", "s02", "--out", out, "--cache-dir", cache_dir]
    assert mer_train(*args) == 0
    first = {name: (out / name).read_bytes() for name in ("report.json", "report.md")}
    first_probs = fold_probabilities(out)
    import shutil

    shutil.rmtree(out)
    assert mer_train(*args) == 0
    assert {name: (out / name).read_bytes() for name in first} == first
    assert fold_probabilities(out) == first_probs   # bit for bit


def test_retry_collapsed_retrains_and_reports_it(synth_root, cache_dir, tmp_path, monkeypatch, one_thread):
    """--retry-collapsed: a fold that did not fit is re-trained from another initialisation, and the report says so."""
    calls = []

    def first_attempt_collapses(truth, guessed, train_uf1, k):
        calls.append(train_uf1)
        return "forced for the test" if len(calls) == 1 else None

    monkeypatch.setattr(fold, "collapse_reason", first_attempt_collapses)
    out = tmp_path / "retry"
    assert mer_train(MODEL, synth_root, "SMIC", *FAST, "--subjects", "s01", "--retry-collapsed", "2", "--out", out,
                     "--cache-dir", cache_dir) == 0
    report = json.loads((out / "report.json").read_text())
    (entry,) = report["per_fold"]
    assert len(calls) == 2 and entry["attempts"] == 2 and entry["collapsed"] is None
    assert [a["collapsed"] for a in entry["attempt_log"]] == ["forced for the test", None]
    assert report["collapsed_folds"] == []
    md = (out / "report.md").read_text()
    assert "`--retry-collapsed 2` re-trained these folds" in md and "- s01: 2 attempts" in md


def test_refuses_to_resume_into_a_folder_made_with_other_options(full_run, synth_root, cache_dir, capsys):
    args = [MODEL, synth_root, "SMIC", *FAST, "--out", full_run, "--cache-dir", cache_dir]
    args[args.index("-lr") + 1] = "5e-4"
    assert mer_train(*args) == 2
    err = capsys.readouterr().err
    assert "different options" in err and "lr" in err and "--out" in err


def torchrun(out: Path, synth_root: Path, cache_dir: Path, *extra: str, model: str = MODEL,
             fast: list[str] = FAST) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "--module", "training.cli", model, str(synth_root), "SMIC", *fast, "--out", str(out),
           "--cache-dir", str(cache_dir), *extra]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_two_ranks_under_torchrun_match_one_process(full_run, synth_root, cache_dir, tmp_path):
    out = tmp_path / "ranks"
    torchrun(out, synth_root, cache_dir, "--final")
    assert (out / "final" / "model.pt").is_file()
    two_ranks = json.loads((out / "report.json").read_text())
    one_process = json.loads((full_run / "report.json").read_text())
    assert figures(two_ranks) == figures(one_process)
    assert_same_models(out, full_run)


def test_ddp_inside_each_fold_matches_one_process(full_run, synth_root, cache_dir, tmp_path):
    """--distribute ddp: both ranks train every fold together, each on its share of every -bs 3 batch (one
    rank pads with a weight-0 clip); the gradients average to the single process's, so the report matches."""
    out = tmp_path / "ddp"
    done = torchrun(out, synth_root, cache_dir, "--distribute", "ddp")
    assert done.stdout.count("ch3_1_fusion_cnn_like on SMIC, 3 LOSO folds") == 1   # one report, from rank 0
    ddp = json.loads((out / "report.json").read_text())
    one_process = json.loads((full_run / "report.json").read_text())
    assert_close(figures(ddp), figures(one_process))   # the same up to float summation order
    assert_same_models(out, full_run)
    assert json.loads((out / "options.json").read_text())["distribute"] == "ddp"
    assert "BatchNorm" not in done.stderr        # Swin normalises per clip (LayerNorm): nothing to synchronise


BN_MODEL = "ch3_1_fusion_cnn"                    # 3D ResNeXt streams: BatchNorm


def bn_fast() -> list[str]:
    """FAST at 64 px and -bs 4: each rank's share of a batch (2 clips, or 1 in an epoch's last batch of 2)
    keeps more than one value per BatchNorm channel."""
    args = list(FAST)
    args[args.index("-imgsize") + 1] = "64"
    args[args.index("-bs") + 1] = "4"
    return args


def test_ddp_with_batchnorm_on_cpu_warns_and_differs_from_one_process_as_documented(synth_root, cache_dir,
                                                                                     tmp_path, one_thread):
    """PyTorch's SyncBatchNorm runs on GPUs only: CPU ranks normalise their own share of a batch. The run says
    so once and differs from one process (README, mer-train: the measured difference)."""
    one = tmp_path / "one"
    assert mer_train(BN_MODEL, synth_root, "SMIC", *bn_fast(), "--out", one, "--cache-dir", cache_dir) == 0
    out = tmp_path / "ddp"
    done = torchrun(out, synth_root, cache_dir, "--distribute", "ddp", model=BN_MODEL, fast=bn_fast())
    assert done.stderr.count("BatchNorm layers normalise each rank's share of a batch on its own") == 1
    assert "--distribute folds gives a single process's figures" in done.stderr
    probs_one, probs_ddp = fold_probabilities(one), fold_probabilities(out)
    assert probs_one.keys() == probs_ddp.keys() == {"s01", "s02", "s03"}
    gap = max(float((torch.tensor(probs_one[s]) - torch.tensor(probs_ddp[s])).abs().max()) for s in probs_one)
    assert gap > 1e-3, "ddp on CPU now matches one process: update the README's BatchNorm note and this test"


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs (NCCL takes one GPU per rank)")
def test_ddp_with_batchnorm_on_two_gpus_matches_one_gpu(synth_root, cache_dir, tmp_path):
    """On GPUs BatchNorm becomes SyncBatchNorm: two ranks normalise the whole batch, as one process does."""
    one = tmp_path / "one"
    assert mer_train(BN_MODEL, synth_root, "SMIC", *bn_fast(), "-gpu", "0", "--out", one, "--cache-dir", cache_dir) == 0
    out = tmp_path / "ddp"
    done = torchrun(out, synth_root, cache_dir, "--distribute", "ddp", "-gpu", "0", "1", model=BN_MODEL,
                    fast=bn_fast())
    assert "BatchNorm" not in done.stderr
    probs_one, probs_ddp = fold_probabilities(one), fold_probabilities(out)
    for subject in probs_one:                   # cuDNN sums in its own order: close, not bit for bit
        assert torch.allclose(torch.tensor(probs_one[subject]), torch.tensor(probs_ddp[subject]), atol=1e-3), subject


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


@pytest.mark.parametrize("bs, where", [("1", "every step of fold s01"), ("5", "the last step of each epoch")])
def test_batchnorm_model_that_cannot_train_on_its_batches_is_refused_before_training(synth_root, tmp_path, capsys,
                                                                                      no_training, bs, where):
    """3D ResNeXt at 32 px and 4 frames ends in one value per channel: eval mode takes it, BatchNorm in train
    mode does not in a batch of 1, every step (-bs 1) or each epoch's last (6 training clips, -bs 5)."""
    args = list(FAST)
    args[args.index("-bs") + 1] = bs
    err = error_of(capsys, "ch3_1_fusion_cnn", synth_root, "SMIC", *args, "--out", tmp_path / "out")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "cannot train on 4 frames of 32x32 px in a batch of 1 clip" in err and where in err
    assert "more than 1 value per channel" in err and "-bs" in err


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
