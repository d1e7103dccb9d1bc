"""MEGC spotting scores: IoU >= 0.5 between a spotted and an annotated interval of the same type, one-to-one,
counts pooled over all videos before precision, recall and F1 are taken (and the same ignoring type).

Frames are counted inclusively: [10, 19] and [15, 24] share 5 of 15 frames (IoU 1/3). Matching is a maximum
one-to-one matching: as many true positives as the pairs with IoU >= 0.5 allow (greedy by IoU can find
fewer where annotations of one type overlap, as in SAMM Long Videos), and among those matchings the one with
the largest summed IoU, so each matched pair is the best the count permits.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

IOU_THRESHOLD = 0.5


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Intersection over union of two inclusive frame intervals (onset, offset)."""
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    union = (a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter
    return inter / union


def iou_matrix(predicted: Sequence[tuple[int, int]], annotated: Sequence[tuple[int, int]]) -> np.ndarray:
    """IoU of every (prediction, annotation) pair, inclusive frames; shape (predictions, annotations)."""
    p = np.asarray(predicted, dtype=np.float64).reshape(-1, 2)
    t = np.asarray(annotated, dtype=np.float64).reshape(-1, 2)
    inter = np.minimum(p[:, None, 1], t[None, :, 1]) - np.maximum(p[:, None, 0], t[None, :, 0]) + 1
    inter = np.clip(inter, 0, None)
    union = (p[:, None, 1] - p[:, None, 0] + 1) + (t[None, :, 1] - t[None, :, 0] + 1) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match(predicted: Sequence[tuple[int, int]], annotated: Sequence[tuple[int, int]],
          threshold: float = IOU_THRESHOLD) -> list[tuple[int, int]]:
    """A maximum one-to-one set of (prediction index, annotation index) pairs with IoU >= threshold.

    scipy's assignment solver maximises K + IoU over eligible pairs (0 elsewhere); K exceeds any matching's
    summed IoU, so the most pairs win first and the summed IoU only breaks ties between equal counts.
    """
    from scipy.optimize import linear_sum_assignment

    values = iou_matrix(predicted, annotated)
    eligible = values >= threshold
    rows, cols = np.flatnonzero(eligible.any(axis=1)), np.flatnonzero(eligible.any(axis=0))
    if not len(rows):
        return []
    sub_values, sub_eligible = values[np.ix_(rows, cols)], eligible[np.ix_(rows, cols)]
    big = min(len(rows), len(cols)) + 1.0
    weights = np.where(sub_eligible, big + sub_values, 0.0)
    chosen_rows, chosen_cols = linear_sum_assignment(weights, maximize=True)
    return sorted((int(rows[r]), int(cols[c])) for r, c in zip(chosen_rows, chosen_cols) if sub_eligible[r, c])


@dataclasses.dataclass(frozen=True)
class Counts:
    """Annotations, predictions and true positives of one type; add them up over videos to pool."""

    annotated: int = 0
    predicted: int = 0
    tp: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.annotated + other.annotated, self.predicted + other.predicted, self.tp + other.tp)

    @property
    def fp(self) -> int:
        return self.predicted - self.tp

    @property
    def fn(self) -> int:
        return self.annotated - self.tp

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.annotated if self.annotated else 0.0

    @property
    def f1(self) -> float:
        """2TP / (annotated + predicted): MEGC's F1; 0 when there is nothing on either side."""
        total = self.annotated + self.predicted
        return 2 * self.tp / total if total else 0.0

    def to_dict(self) -> dict:
        return {"annotated": self.annotated, "predicted": self.predicted, "tp": self.tp, "fp": self.fp,
                "fn": self.fn, "precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclasses.dataclass(frozen=True)
class TypeMatch:
    """One video's result for one type: its counts and which prediction matched which annotation."""

    counts: Counts
    pairs: tuple[tuple[int, int], ...]     # (index into that type's predictions, index into its annotations)


def score_video(predicted: Sequence[tuple[int, int, str]], annotated: Sequence[tuple[int, int, str]],
                kinds: Sequence[str] = ("micro", "macro"),
                threshold: float = IOU_THRESHOLD) -> dict[str, TypeMatch]:
    """Per type: (onset, offset, kind) predictions matched only against annotations of the same kind."""
    out = {}
    for kind in kinds:
        preds = [(a, b) for a, b, k in predicted if k == kind]
        truths = [(a, b) for a, b, k in annotated if k == kind]
        pairs = match(preds, truths, threshold)
        out[kind] = TypeMatch(Counts(len(truths), len(preds), len(pairs)), tuple(pairs))
    return out


def score_any_type(predicted: Sequence[tuple[int, int, str]], annotated: Sequence[tuple[int, int, str]],
                   threshold: float = IOU_THRESHOLD) -> TypeMatch:
    """Every prediction against every annotation whatever their types, one to one: what the spotter finds
    when its micro/macro call is not held against it (the type rules' cost is overall F1 minus this)."""
    pairs = match([(a, b) for a, b, _ in predicted], [(a, b) for a, b, _ in annotated], threshold)
    return TypeMatch(Counts(len(annotated), len(predicted), len(pairs)), tuple(pairs))


def pooled(per_video: Sequence[dict[str, TypeMatch]], kinds: Sequence[str] = ("micro", "macro")) -> dict[str, Counts]:
    """Counts per type summed over videos, and "overall" = all types together."""
    out = {kind: sum((v[kind].counts for v in per_video), Counts()) for kind in kinds}
    out["overall"] = sum(out.values(), Counts())
    return out
