"""The LOSO report, rebuilt from the saved per-fold predictions: report.json, report.md, confusion.png.

Headline (honest): each fold's model after its last epoch, predictions pooled over folds into one
confusion matrix. Beside it, named for what they are, the original code's two figures (training.figures),
both chosen on the test data. Folds whose model did not fit its own training data (training.collapse)
are named, never dropped. Nothing here depends on timing, so the same run gives the same report.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mer_live.atomic import atomic_path, write_text_atomic
from mer_live.metrics import scores_from_predictions
from training import figures
from training.collapse import CHANCE_MARGIN

HONEST = "last epoch (honest)"
TEST_SELECTED = "test-selected per subject (optimistic; the original code's reported figure)"
BEST_EPOCH = "best single epoch (optimistic; the original code's second figure)"
CONVENTIONS = {
    "omit": "classes absent from both truth and prediction left out of UAR/UF1",
    "zero": "all classes averaged, an undefined class counting 0 (the original code's meter)",
}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _figure_rows(report: dict[str, Any]) -> list[str]:
    rows = []
    for key in ("honest", "test_selected", "best_epoch"):
        s = report[key]
        label = s["name"] + (f", epoch {s['epoch']}" if key == "best_epoch" else "")
        rows.append(f"| {label} | {s['convention']} | {s['acc']:.4f} | {s['uar']:.4f} | {s['uf1']:.4f} | "
                    + " | ".join(_fmt(v) for v in s["f1"]) + " |")
    return rows


def _fit_section(report: dict[str, Any]) -> list[str]:
    fit = report["fit_check"]
    lines = ["## Did every fold fit its training data?", ""]
    collapsed = [f for f in report["per_fold"] if f["collapsed"]]
    if collapsed:
        lines += [f"**{len(collapsed)} of {report['folds']} folds did not fit their training data**: after the last "
                  f"epoch the model {fit['rule']}. They stay in every figure above, which they pull down. "
                  f"What to try: {fit['advice']}.", "",
                  "| subject | why | attempts |", "|---|---|---|"]
        lines += [f"| {f['subject']} | {f['collapsed']} | {f['attempts']} |" for f in collapsed]
    else:
        lines.append(f"Yes: no fold's model {fit['rule']} after its last epoch.")
    retried = [f for f in report["per_fold"] if f["attempts"] > 1]
    if retried:
        lines += ["", f"`--retry-collapsed {report['options']['retry_collapsed']}` re-trained these folds from "
                  "another initialisation because they did not fit their training data (decided on training data "
                  "only; the figures above use each fold's last attempt):", ""]
        lines += [f"- {f['subject']}: {f['attempts']} attempts, train UF1 per attempt "
                  + ", ".join(f"{a['train_uf1']:.2f}" for a in f["attempt_log"]) for f in retried]
    return lines + [""]


def markdown(report: dict[str, Any]) -> str:
    names = report["class_names"]
    o = report["options"]
    lines = [
        f"# LOSO report: {report['model']} on {report['dataset']}",
        "",
        f"{report['folds']} folds (one per subject with clips), {report['clips']} clips, {report['epochs']} epochs "
        f"per fold, feature {o['feature']}, {o['num_frames']} frames, {o['image_size'][0]}x{o['image_size'][1]} px, "
        f"AdamW lr {o['lr']:g}, batch {o['batch_size']}, seed {o['seed']}.",
        "",
        *([f"Notes of the {report['dataset']} reader:", "", *[f"- {n}" for n in report.get("data_notes", ())], ""]
          if report.get("data_notes") else []),
        "| figure | convention | Acc | UAR | UF1 | " + " | ".join(f"F1 {n}" for n in names) + " |",
        "|---|---|---|---|---|" + "---|" * len(names),
        *_figure_rows(report),
        "",
        "The headline is the honest figure: every fold's model after its last epoch, pooled. The other two are",
        "the figures the original code (Hong et al. 2022) logged, computed as it did; the test data chose them:",
        "test-selected takes, for each held-out subject, the first epoch with the highest UF1 on that subject and",
        "sums those epochs' confusion matrices; best single epoch is the epoch whose pooled UF1 is highest.",
        "Per-class F1 = 2TP / (2TP + FP + FN); n/a = undefined (class absent from truth and prediction).",
        "Conventions: " + "; ".join(f"{k} = {v}" for k, v in CONVENTIONS.items()) + ".",
        "",
        *_fit_section(report),
        "## Pooled confusion matrix (honest; rows = true, columns = predicted)",
        "",
        "| true \\ predicted | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for name, row in zip(names, report["honest"]["confusion"]):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    lines += ["", "## Per fold (held-out subject)", "",
              "| subject | clips | Acc (last) | UF1 (last) | train UF1 (last) | fit | test-selected epoch | "
              "UF1 there (original convention) |",
              "|---|---|---|---|---|---|---|---|"]
    for f in report["per_fold"]:
        lines.append(f"| {f['subject']} | {f['clips']} | {f['acc']:.4f} | {f['uf1']:.4f} | {f['train_uf1']:.4f} | "
                     f"{'no' if f['collapsed'] else 'yes'} | {f['test_selected_epoch']} | "
                     f"{f['test_selected_uf1']:.4f} |")
    lines += ["", "## Per epoch (pooled over folds)", "",
              "Held-out figures and loss pool every fold's held-out clips at that epoch (honest convention); train",
              "figures score the folds' training predictions of that epoch, summed (as the original code did);",
              "train loss is the mean over folds.", "",
              "| epoch | train loss | train Acc | train UAR | train UF1 | held-out loss | held-out Acc | held-out UAR | "
              "held-out UF1 |", "|---|---|---|---|---|---|---|---|---|"]
    for p in report["per_epoch"]:
        lines.append(f"| {p['epoch']} | {p['train_loss']:.4f} | {p['train_acc']:.4f} | {p['train_uar']:.4f} | "
                     f"{p['train_uf1']:.4f} | {p['heldout_loss']:.4f} | {p['acc']:.4f} | {p['uar']:.4f} | "
                     f"{p['uf1']:.4f} |")
    return "\n".join(lines) + "\n"


def console_summary(report: dict[str, Any], out_dir: Path) -> str:
    h, s, b = report["honest"], report["test_selected"], report["best_epoch"]
    lines = [f"\n{report['model']} on {report['dataset']}, {report['folds']} LOSO folds, {report['clips']} clips:",
             f"  {HONEST}:  Acc {h['acc']:.4f}  UAR {h['uar']:.4f}  UF1 {h['uf1']:.4f}",
             f"  {TEST_SELECTED}:  Acc {s['acc']:.4f}  UAR {s['uar']:.4f}  UF1 {s['uf1']:.4f}",
             f"  {BEST_EPOCH}, epoch {b['epoch']}:  Acc {b['acc']:.4f}  UAR {b['uar']:.4f}  UF1 {b['uf1']:.4f}"]
    collapsed = report["collapsed_folds"]
    if collapsed:
        lines.append(f"  WARNING: {len(collapsed)} of {report['folds']} folds did not fit their training data: "
                     f"{', '.join(collapsed)}. They are in the figures above; try {report['fit_check']['advice']}.")
    lines.append(f"  report: {out_dir / 'report.md'}")
    return "\n".join(lines)


def confusion_figure(confusion: Sequence[Sequence[int]], class_names: Sequence[str], title: str):
    """A matplotlib figure of a confusion matrix with its counts (caller closes it)."""
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
    return fig


def confusion_png(path: Path, confusion: list[list[int]], class_names: Sequence[str], title: str) -> None:
    import matplotlib.pyplot as plt

    fig = confusion_figure(confusion, class_names, title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def build_report(out_dir: Path, folds: list[dict[str, Any]], class_names: Sequence[str],
                 options: dict[str, Any], advice: str, data_notes: Sequence[str] = ()) -> dict[str, Any]:
    """Write report.json, report.md and confusion.png from the folds' saved predictions. `data_notes` are the
    dataset reader's notes (what it left out or relabelled, and why), kept with the figures they qualify."""
    k = len(class_names)
    folds = sorted(folds, key=lambda f: f["order"])
    honest = figures.pooled(folds, k, "pred_last")
    per_fold = []
    for f in folds:
        best = f["test_selected_epoch"] - 1
        per_fold.append({
            "subject": f["subject"], "clips": len(f["labels"]), "acc": f["last"]["acc"], "uf1": f["last"]["uf1"],
            "train_uf1": f["per_epoch"][-1]["train_uf1"], "collapsed": f["collapsed"],
            "attempts": len(f["attempts"]), "attempt_log": f["attempts"],
            "test_selected_epoch": f["test_selected_epoch"],
            "test_selected_uf1": scores_from_predictions(
                f["labels"], f["pred_per_epoch"][best], k, figures.ORIGINAL_CONVENTION)["uf1"],
        })
    report = {
        "model": options["model"],
        "dataset": options["dataset"],
        "class_names": list(class_names),
        "folds": len(folds),
        "clips": sum(len(f["labels"]) for f in folds),
        "epochs": options["epochs"],
        "headline": "honest",
        "honest": {"name": HONEST, "convention": "omit", **honest},
        "test_selected": {"name": TEST_SELECTED, "convention": figures.ORIGINAL_CONVENTION,
                          **figures.test_selected(folds, k)},
        "best_epoch": {"name": BEST_EPOCH, "convention": figures.ORIGINAL_CONVENTION,
                       **figures.best_single_epoch(folds, k)},
        "conventions": CONVENTIONS,
        "data_notes": list(data_notes),
        "collapsed_folds": [f["subject"] for f in per_fold if f["collapsed"]],
        "fit_check": {"rule": f"predicted one class for every training clip, or scored a train UF1 below chance "
                              f"(1/{k}) + {CHANCE_MARGIN:.2f}", "advice": advice},
        "per_epoch": figures.per_epoch_curve(folds, k),
        "per_fold": per_fold,
        "options": options,
    }
    write_text_atomic(out_dir / "report.json", json.dumps(report, indent=2))
    write_text_atomic(out_dir / "report.md", markdown(report))
    confusion_png(out_dir / "confusion.png", honest["confusion"], class_names,
                  f"{options['model']} {options['dataset']} LOSO, {HONEST}: UF1 {honest['uf1']:.3f}")
    return report
