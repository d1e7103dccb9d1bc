"""MER scores on a confusion matrix: accuracy, UAR and UF1 as the MEGC protocol computes them.

UAR and UF1 weigh every class equally, which is the point for micro-expression sets whose classes are
badly imbalanced (SMIC: 70 negative vs 43 surprise clips).

Undefined classes: a class with no true clip has no recall, and a class absent from both truth and
prediction has F1 = 0/0. Such per-class values are reported as None and left out of the mean, so a
fold (or a subset) that happens to lack a class is scored on the classes it has, not punished with a
zero it could not avoid. A class that was predicted but never true has F1 = 0 and counts.
This is the default, `absent="omit"`, and the project's honest figure uses it.

The original code (Hong et al. 2022, meter.py) averaged over ALL classes, an undefined value counting 0;
`absent="zero"` reproduces that, for the figures reported as the original code computed them.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) int64 counts; row = true class, column = predicted class."""
    true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    pred = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    if true.shape != pred.shape:
        raise ValueError(f"y_true has {true.size} labels but y_pred has {pred.size}")
    for name, values in (("y_true", true), ("y_pred", pred)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} holds a class outside 0..{num_classes - 1}: {sorted(set(values.tolist()))}")
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (true, pred), 1)
    return cm


ABSENT_CONVENTIONS = ("omit", "zero")


def _mean(values: list[float | None], absent: str) -> float:
    if absent == "zero":
        return float(np.mean([0.0 if v is None else v for v in values])) if values else 0.0
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else 0.0


def scores(cm: np.ndarray, absent: str = "omit") -> dict[str, Any]:
    """Acc, UAR (mean per-class recall), UF1 (mean per-class F1 = 2TP / (2TP + FP + FN)).

    Per-class lists hold None where the value is undefined; `absent` says how the means treat them:
    "omit" leaves them out, "zero" counts them as 0 (the original code's convention).
    """
    if absent not in ABSENT_CONVENTIONS:
        raise ValueError(f"absent must be one of {ABSENT_CONVENTIONS}, got {absent!r}")
    cm = np.asarray(cm, dtype=np.int64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    tp = np.diag(cm)
    support = cm.sum(axis=1)        # true clips per class
    predicted = cm.sum(axis=0)      # predictions per class
    fn = support - tp
    fp = predicted - tp
    f1_denominator = 2 * tp + fp + fn
    recall: list[float | None] = [float(tp[k] / support[k]) if support[k] else None for k in range(len(cm))]
    f1: list[float | None] = [
        float(2 * tp[k] / f1_denominator[k]) if f1_denominator[k] else None for k in range(len(cm))
    ]
    total = int(cm.sum())
    return {
        "acc": float(tp.sum() / total) if total else 0.0,
        "uar": _mean(recall, absent),
        "uf1": _mean(f1, absent),
        "recall": recall,
        "f1": f1,
        "support": support.tolist(),
        "n": total,
    }


def scores_from_predictions(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int,
                            absent: str = "omit") -> dict[str, Any]:
    """`scores` of the confusion matrix of these predictions, with the matrix itself under "confusion"."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    return {**scores(cm, absent), "confusion": cm.tolist()}
