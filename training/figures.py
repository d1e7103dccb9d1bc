"""The run's figures, computed from the folds' saved predictions (so a report can always be rebuilt).

- honest (the headline): each fold's model after its last epoch, pooled over folds; the project's metric
  convention (a class absent from both truth and prediction is left out of UAR/UF1).
- test-selected, as the original code (Hong et al. 2022) computed its reported figure: for each
  held-out subject the FIRST epoch with the highest per-subject UF1, that UF1 averaged over ALL classes
  with an undefined class counting 0; those epochs' confusion matrices summed and scored the same way.
  Optimistic by construction: the test subject chose its own epoch.
- best single epoch, the original code's second logged figure: the one epoch (the same for every fold)
  whose pooled UF1 is highest, first such epoch, the original's convention. Also chosen on the test data.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from mer_live.metrics import confusion_matrix, scores, scores_from_predictions

ORIGINAL_CONVENTION = "zero"   # mer_live.metrics: undefined per-class values count 0 (the original code)


def pooled(folds: Sequence[dict[str, Any]], num_classes: int, key: str) -> dict[str, Any]:
    truth = [y for f in folds for y in f["labels"]]
    guessed = [p for f in folds for p in f[key]]
    return scores_from_predictions(truth, guessed, num_classes)


def test_selected_epoch(labels: Sequence[int], preds_per_epoch: Sequence[Sequence[int]], num_classes: int) -> int:
    """0-based index of the first epoch with the highest per-subject UF1 (the original code's rule)."""
    uf1 = [scores(confusion_matrix(labels, p, num_classes), ORIGINAL_CONVENTION)["uf1"] for p in preds_per_epoch]
    return int(np.argmax(uf1))   # argmax returns the first of equal maxima


def test_selected(folds: Sequence[dict[str, Any]], num_classes: int) -> dict[str, Any]:
    """The original code's reported figure: per-subject best epochs' confusions summed, then scored."""
    total = np.zeros((num_classes, num_classes), np.int64)
    for fold in folds:
        best = test_selected_epoch(fold["labels"], fold["pred_per_epoch"], num_classes)
        total += confusion_matrix(fold["labels"], fold["pred_per_epoch"][best], num_classes)
    return {**scores(total, ORIGINAL_CONVENTION), "confusion": total.tolist()}


def epochs_in_common(folds: Sequence[dict[str, Any]]) -> int:
    return min(len(f["pred_per_epoch"]) for f in folds) if folds else 0


def epoch_confusion(folds: Sequence[dict[str, Any]], num_classes: int, epoch: int) -> np.ndarray:
    """Held-out confusion pooled over folds had every fold stopped after epoch `epoch` (0-based)."""
    total = np.zeros((num_classes, num_classes), np.int64)
    for fold in folds:
        total += confusion_matrix(fold["labels"], fold["pred_per_epoch"][epoch], num_classes)
    return total


def best_single_epoch(folds: Sequence[dict[str, Any]], num_classes: int) -> dict[str, Any]:
    """The original code's second figure: the one epoch whose pooled UF1 (its convention) is highest."""
    matrices = [epoch_confusion(folds, num_classes, e) for e in range(epochs_in_common(folds))]
    uf1 = [scores(cm, ORIGINAL_CONVENTION)["uf1"] for cm in matrices]
    best = int(np.argmax(uf1))
    return {"epoch": best + 1, **scores(matrices[best], ORIGINAL_CONVENTION), "confusion": matrices[best].tolist()}


def per_epoch_curve(folds: Sequence[dict[str, Any]], num_classes: int) -> list[dict[str, Any]]:
    """Per epoch, pooled over folds: held-out Acc/UAR/UF1 and mean loss over all held-out clips; train
    loss (mean over folds) and train Acc/UAR/UF1 of the folds' training confusions summed (as the original)."""
    curve = []
    for e in range(epochs_in_common(folds)):
        held = scores(epoch_confusion(folds, num_classes, e))
        train_cm = sum(np.asarray(f["per_epoch"][e]["train_confusion"], np.int64) for f in folds)
        train = scores(train_cm)
        clips = sum(len(f["labels"]) for f in folds)
        held_loss = sum(f["per_epoch"][e]["heldout_loss"] * len(f["labels"]) for f in folds) / max(clips, 1)
        curve.append({"epoch": e + 1, "acc": held["acc"], "uar": held["uar"], "uf1": held["uf1"],
                      "heldout_loss": held_loss,
                      "train_loss": float(np.mean([f["per_epoch"][e]["train_loss"] for f in folds])),
                      "train_acc": train["acc"], "train_uar": train["uar"], "train_uf1": train["uf1"]})
    return curve
