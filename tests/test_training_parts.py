"""The pieces of mer-train that need no training run: the original code's figures, the collapse rule, the
learning-rate schedule, the DDP batch split, where TensorBoard logs go, and resuming old run folders."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training import distributed, figures
from training.collapse import collapse_reason
from training.options import TrainingError, TrainOptions
from training.run import check_ranks
from training.schedule import lr_factor
from training.visualize import tensorboard_root


def original_uf1(truth, pred, k=3) -> float:
    """meter.py's confusion2uf1: F1 = 2TP / (2TP + FP + FN) averaged over ALL classes, 0/0 counting 0."""
    cm = np.zeros((k, k))
    np.add.at(cm, (np.asarray(truth), np.asarray(pred)), 1)
    tp = np.diag(cm)
    denominator = 2 * tp + (cm.sum(0) - tp) + (cm.sum(1) - tp)
    return float(np.divide(2 * tp, denominator, out=np.zeros(k), where=denominator != 0).mean())


def test_test_selected_epoch_is_the_first_with_the_highest_uf1_not_accuracy():
    truth = [0, 0, 0, 0, 1, 2]
    epochs = [
        [0, 0, 0, 0, 0, 0],      # acc .67, UF1 .27
        [0, 0, 0, 0, 0, 2],      # acc .83 (the best accuracy), UF1 .63
        [1, 0, 0, 0, 1, 2],      # acc .67, UF1 .84: the original code's pick
        [1, 0, 0, 0, 1, 2],      # the same UF1 later: the first one counts
    ]
    assert [round(original_uf1(truth, p), 2) for p in epochs] == [0.27, 0.63, 0.84, 0.84]
    assert figures.test_selected_epoch(truth, epochs, 3) == 2


def test_test_selected_counts_a_class_absent_from_a_subject_as_zero():
    """This subject has no class 2. Leaving it out (the project's convention) would pick epoch 0 (UF1 .63 vs
    .49); the original code averages over all three classes (.42 vs .49) and picks epoch 1."""
    truth = [0, 0, 0, 1, 1, 1]
    epochs = [[0, 0, 0, 1, 0, 0], [0, 0, 2, 1, 1, 0]]
    assert [round(original_uf1(truth, p), 2) for p in epochs] == [0.42, 0.49]
    assert figures.test_selected_epoch(truth, epochs, 3) == 1


def test_original_figures_match_an_independent_implementation_on_random_runs():
    rng = np.random.default_rng(3)
    for _ in range(20):
        folds = []
        for order in range(int(rng.integers(2, 5))):
            n = int(rng.integers(1, 6))
            labels = rng.integers(0, 3, n).tolist()
            folds.append({"order": order, "labels": labels,
                          "pred_per_epoch": [rng.integers(0, 3, n).tolist() for _ in range(5)]})
        total = np.zeros((3, 3), np.int64)
        for fold in folds:
            uf1 = [original_uf1(fold["labels"], p) for p in fold["pred_per_epoch"]]
            best = uf1.index(max(uf1))
            np.add.at(total, (np.asarray(fold["labels"]), np.asarray(fold["pred_per_epoch"][best])), 1)
        assert figures.test_selected(folds, 3)["confusion"] == total.tolist()
        truth = [y for f in folds for y in f["labels"]]
        pooled = [original_uf1(truth, [p for f in folds for p in f["pred_per_epoch"][e]]) for e in range(5)]
        best_epoch = figures.best_single_epoch(folds, 3)
        assert best_epoch["epoch"] == pooled.index(max(pooled)) + 1
        assert best_epoch["uf1"] == pytest.approx(max(pooled))


def test_collapse_rule():
    truth = [0, 1, 2] * 4
    assert "class 1 for every training clip" in collapse_reason(truth, [1] * 12, 1 / 6, 3)
    assert "near chance" in collapse_reason(truth, [0, 1, 2, 1] * 3, 0.40, 3)
    assert collapse_reason(truth, truth, 1.0, 3) is None
    assert collapse_reason(truth, [0, 1, 2, 1] * 3, 0.45, 3) is None   # above chance + 0.10: it fit, if barely


def test_lr_schedule_warmup_and_cosine():
    assert [lr_factor(s, 100, 0, "constant") for s in (0, 50, 99)] == [1.0, 1.0, 1.0]
    assert [lr_factor(s, 100, 10, "constant") for s in (0, 4, 9, 10)] == [0.1, 0.5, 1.0, 1.0]
    assert lr_factor(10, 100, 10, "cosine") == pytest.approx(1.0)
    assert lr_factor(55, 100, 10, "cosine") == pytest.approx(0.505)
    assert lr_factor(100, 100, 10, "cosine") == pytest.approx(0.01)


@pytest.mark.parametrize("batch_size, world, plan_len", [(3, 2, 7), (4, 2, 8), (2, 3, 5), (5, 1, 11), (4, 3, 5)])
def test_ddp_share_covers_every_clip_once_in_lockstep(batch_size, world, plan_len):
    plan = [(i, 100 + i) for i in range(plan_len)]
    shares = [distributed.rank_share(plan, batch_size, r, world) for r in range(world)]
    assert len({len(steps) for steps in shares}) == 1                     # every rank takes the same steps
    real = sorted(item for steps in shares for items, weights in steps for item, w in zip(items, weights) if w == 1.0)
    assert real == plan                                                   # each draw once, with weight 1
    for j, start in enumerate(range(0, plan_len, batch_size)):            # step j of every rank: batch j
        batch = plan[start:start + batch_size]
        steps = [rank_steps[j] for rank_steps in shares]
        assert sorted(i for items, weights in steps for i, w in zip(items, weights) if w == 1.0) == batch
        sizes = [len(items) for items, _ in steps]
        assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1           # no rank idle, shares as even as can be
        padded = [w for _, weights in steps for w in weights if w == 0.0]
        assert len(padded) == max(0, world - len(batch))                  # padding only where a rank had none


def test_ddp_refuses_a_batch_smaller_than_the_ranks():
    options = TrainOptions("ch3_1_fusion_cnn_like", "/data", "SMIC", batch_size=1, distribute="ddp")
    with pytest.raises(TrainingError, match="-bs must be at least 2"):
        check_ranks(options, distributed.Context(rank=0, world=2, initialised=True))
    check_ranks(TrainOptions("ch3_1_fusion_cnn_like", "/data", "SMIC", batch_size=1),
                distributed.Context(rank=0, world=2, initialised=True))   # folds mode: any -bs


def test_subtb_without_tb_logs_under_the_run_folder(tmp_path: Path):
    def root(**kw):
        return tensorboard_root(TrainOptions("ch3_1_fusion_cnn_like", "/data", "SMIC", **kw), tmp_path)

    assert root() is None
    assert root(subtb=True) == tmp_path / "tensorboard"                  # the original code's -tb "."
    assert root(subtb=True, tensorboard="logs") == tmp_path / "tensorboard" / "logs"
    assert root(tensorboard=str(tmp_path / "abs")) == tmp_path / "abs"


def test_new_options_leave_old_run_folders_resumable():
    plain = TrainOptions("ch3_1_fusion_cnn_like", "/data", "SMIC").identity()
    assert set(plain) == set(TrainOptions.RESULT_KEYS) | {"optimizer"}
    tuned = TrainOptions("ch3_1_fusion_cnn_like", "/data", "SMIC", warmup_epochs=2, clip_grad=1.0).identity()
    assert tuned["warmup_epochs"] == 2 and tuned["clip_grad"] == 1.0 and "lr_schedule" not in tuned
    original_order = TrainOptions("ch3_1_fusion_cnn_like", "/data", "SMIC", augment_order="original").identity()
    assert original_order["augment_order"] == "original"        # a run in the other order never resumes this one


def test_syncbatchnorm_conversion_keeps_checkpoints_loadable_into_the_plain_model():
    """ddp on GPUs trains SyncBatchNorm layers; the saved state dict must load into the model mer-export builds."""
    import torch

    from mer_live.models import create_model

    def build():
        torch.manual_seed(0)
        return create_model("ch3_1_fusion_cnn", 3, num_frames=4, image_size=(64, 64), variant="nano")

    plain = build()
    synced = torch.nn.SyncBatchNorm.convert_sync_batchnorm(build())
    assert distributed.has_batchnorm(plain) and any(isinstance(m, torch.nn.SyncBatchNorm) for m in synced.modules())
    assert list(synced.state_dict()) == list(plain.state_dict())
    build().load_state_dict(synced.state_dict(), strict=True)
    assert distributed.syncs_batchnorm(torch.device("cuda", 0)) and not distributed.syncs_batchnorm(torch.device("cpu"))
