"""MEGC spotting scores: IoU >= 0.5 between a spotted and an annotated interval of the same type, one-to-one,
counts pooled over all videos before precision, recall and F1 are taken.

Frames are counted inclusively: [10, 19] and [15, 24] share 5 of 15 frames (IoU 1/3). Matching is greedy
by IoU, highest first (ties: earlier annotation, then earlier prediction), so each annotation and each
prediction is used at most once.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

IOU_THRESHOLD = 0.5


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Intersection over union of two inclusive frame intervals (onset, offset)."""
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    union = (a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter
    return inter / union


def match(predicted: Sequence[tuple[int, int]], annotated: Sequence[tuple[int, int]],
          threshold: float = IOU_THRESHOLD) -> list[tuple[int, int]]:
    """One-to-one (prediction index, annotation index) pairs with IoU >= threshold."""
    pairs = []
    for p, pred in enumerate(predicted):
        for t, truth in enumerate(annotated):
            value = iou(pred, truth)
            if value >= threshold:
                pairs.append((-value, t, p))
    used_p: set[int] = set()
    used_t: set[int] = set()
    out = []
    for _, t, p in sorted(pairs):
        if p not in used_p and t not in used_t:
            used_p.add(p)
            used_t.add(t)
            out.append((p, t))
    return sorted(out)


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


def pooled(per_video: Sequence[dict[str, TypeMatch]], kinds: Sequence[str] = ("micro", "macro")) -> dict[str, Counts]:
    """Counts per type summed over videos, and "overall" = all types together."""
    out = {kind: sum((v[kind].counts for v in per_video), Counts()) for kind in kinds}
    out["overall"] = sum(out.values(), Counts())
    return out
