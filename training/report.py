"""The LOSO report, rebuilt from the saved per-fold predictions: report.json, report.md, confusion.png.

Headline (honest): each fold's model after its last epoch, predictions pooled over folds into one
confusion matrix. Beside it, named for what it is, the seed's figure: for each held-out subject the epoch
that scored best on that same subject ("test-selected (optimistic, as the seed reported)").
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mer_live.atomic import atomic_path, write_text_atomic
from mer_live.metrics import scores_from_predictions

HONEST = "last epoch (honest)"
TEST_SELECTED = "test-selected (optimistic, as the seed reported)"


def pooled(folds: Sequence[dict[str, Any]], num_classes: int, key: str) -> dict[str, Any]:
    truth: list[int] = []
    guessed: list[int] = []
    for fold in folds:
        truth.extend(fold["labels"])
        guessed.extend(fold[key])
    return scores_from_predictions(truth, guessed, num_classes)


def per_epoch_curve(folds: Sequence[dict[str, Any]], num_classes: int) -> list[dict[str, float]]:
    """Pooled scores had every fold stopped after epoch e (all folds run the same epoch count)."""
    epochs = min(len(f["pred_per_epoch"]) for f in folds) if folds else 0
    truth = [y for f in folds for y in f["labels"]]
    curve = []
    for e in range(epochs):
        guessed = [p for f in folds for p in f["pred_per_epoch"][e]]
        s = scores_from_predictions(truth, guessed, num_classes)
        loss = float(np.mean([f["train_loss"][e] for f in folds]))
        curve.append({"epoch": e + 1, "acc": s["acc"], "uar": s["uar"], "uf1": s["uf1"], "train_loss": loss})
    return curve


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def markdown(report: dict[str, Any]) -> str:
    names = report["class_names"]
    lines = [
        f"# LOSO report: {report['model']} on {report['dataset']}",
        "",
        f"{report['folds']} folds (one per subject with clips), {report['clips']} clips, "
        f"{report['epochs']} epochs per fold, feature {report['options']['feature']}, "
        f"{report['options']['num_frames']} frames, {report['options']['image_size'][0]}x"
        f"{report['options']['image_size'][1]} px.",
        "",
        "| figure | Acc | UAR | UF1 | " + " | ".join(f"F1 {n}" for n in names) + " |",
        "|---|---|---|---|" + "---|" * len(names),
    ]
    for label, key in ((HONEST, "honest"), (TEST_SELECTED, "test_selected")):
        s = report[key]
        lines.append(f"| {label} | {s['acc']:.4f} | {s['uar']:.4f} | {s['uf1']:.4f} | "
                     + " | ".join(_fmt(v) for v in s["f1"]) + " |")
    lines += [
        "",
        "The headline is the honest figure: every fold's model after its last epoch. The test-selected figure",
        "picks, for each held-out subject, the epoch that scored best on that same subject, so the test data",
        "chooses the model; it is shown only for comparison with the seed's published numbers.",
        "Per-class F1 = 2TP / (2TP + FP + FN); n/a = class absent from both truth and prediction (left out of UF1).",
        "",
        "## Pooled confusion matrix (honest; rows = true, columns = predicted)",
        "",
        "| true \\ predicted | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for name, row in zip(names, report["honest"]["confusion"]):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    lines += ["", "## Per fold (held-out subject)", "",
              "| subject | clips | Acc (last) | UF1 (last) | test-selected epoch | Acc (test-selected) |",
              "|---|---|---|---|---|---|"]
    for fold in report["per_fold"]:
        lines.append(f"| {fold['subject']} | {fold['clips']} | {fold['acc']:.4f} | {fold['uf1']:.4f} | "
                     f"{fold['test_selected_epoch']} | {fold['test_selected_acc']:.4f} |")
    return "\n".join(lines) + "\n"


def confusion_png(path: Path, confusion: list[list[int]], class_names: Sequence[str], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion)
    fig, ax = plt.subplots(figsize=(1.2 * len(class_names) + 2.5, 1.2 * len(class_names) + 2))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    threshold = cm.max() / 2 if cm.size and cm.max() else 0
    for (i, j), value in np.ndenumerate(cm):
        ax.text(j, i, str(value), ha="center", va="center", color="white" if value > threshold else "black")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def build_report(out_dir: Path, folds: list[dict[str, Any]], class_names: Sequence[str],
                 options: dict[str, Any]) -> dict[str, Any]:
    """Write report.json, report.md and confusion.png from the folds' saved predictions."""
    k = len(class_names)
    folds = sorted(folds, key=lambda f: f["order"])
    honest = pooled(folds, k, "pred_last")
    selected = pooled(folds, k, "pred_test_selected")
    report = {
        "model": options["model"],
        "dataset": options["dataset"],
        "class_names": list(class_names),
        "folds": len(folds),
        "clips": sum(len(f["labels"]) for f in folds),
        "epochs": options["epochs"],
        "headline": "honest",
        "honest": {"name": HONEST, **honest},
        "test_selected": {"name": TEST_SELECTED, **selected},
        "per_epoch": per_epoch_curve(folds, k),
        "per_fold": [
            {"subject": f["subject"], "clips": len(f["labels"]), "acc": f["last"]["acc"], "uf1": f["last"]["uf1"],
             "test_selected_epoch": f["test_selected_epoch"], "test_selected_acc": f["test_selected"]["acc"]}
            for f in folds
        ],
        "options": options,
    }
    write_text_atomic(out_dir / "report.json", json.dumps(report, indent=2))
    write_text_atomic(out_dir / "report.md", markdown(report))
    confusion_png(out_dir / "confusion.png", honest["confusion"], class_names,
                  f"{options['model']} {options['dataset']} LOSO, {HONEST}: UF1 {honest['uf1']:.3f}")
    return report
