"""The collapse guard: did a fold's model fit its own training data?

A model that ends training predicting one class, or scoring near chance on the clips it trained on, has
not learned anything a held-out score could measure; pooled over 16-26 folds it silently drags the
headline down. Such a fold is named (console, report.md, report.json) with what to try. It is never
dropped from the figures, and re-trained only when the user asked for it (`--retry-collapsed N`): that
decision looks at training data only, never at the held-out subject.
"""
from __future__ import annotations

from typing import Sequence

# "Near chance": last-epoch train UF1 below chance (1 / number of classes) plus this margin.
CHANCE_MARGIN = 0.10


def collapse_reason(train_truth: Sequence[int], train_pred: Sequence[int], train_uf1: float,
                    num_classes: int) -> str | None:
    """Why the last training epoch shows no fit (one class predicted, or train UF1 near chance); None if it fit."""
    if not train_pred:
        return None
    predicted = set(train_pred)
    if len(predicted) == 1 and len(set(train_truth)) > 1:
        return f"predicted class {next(iter(predicted))} for every training clip, train UF1 {train_uf1:.2f}"
    chance = 1.0 / num_classes
    if train_uf1 < chance + CHANCE_MARGIN:
        return f"train UF1 {train_uf1:.2f}, near chance ({chance:.2f})"
    return None


def advice(options) -> str:
    """What to try for a fold that did not fit, given the run's options (a list, to follow "try")."""
    tips = []
    if options.lr > 1e-5:
        tips.append(f"a lower -lr (this run: {options.lr:g}; the paper's is 1e-5)")
    tips.append(f"more epochs (this run: -ep {options.epochs})")
    if not options.imbalanced_sampler:
        tips.append("--imbalanced_sampler")
    if options.lr > 1e-5 and not options.warmup_epochs:
        tips.append("--warmup-epochs 2")
    if options.lr > 1e-5 and options.clip_grad is None:
        tips.append("--clip-grad 1.0")
    if not options.retry_collapsed:
        tips.append("--retry-collapsed 1 (re-trains such a fold from another initialisation; reported)")
    return ", ".join(tips)
