"""Learning-rate schedule: optional linear warmup and cosine decay, stepped once per optimizer step.

The paper's recipe is a constant AdamW rate (the default here). Warmup and decay are options for higher
rates, where the first steps of a freshly initialised model can throw it into predicting one class.
"""
from __future__ import annotations

import math

import torch

LR_SCHEDULES = ("constant", "cosine")
FINAL_LR_FRACTION = 0.01   # cosine decays to this fraction of -lr at the last step


def lr_factor(step: int, total_steps: int, warmup_steps: int, schedule: str) -> float:
    """Multiplier of the base rate at optimizer step `step` (0-based)."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        span = max(total_steps - warmup_steps, 1)
        progress = min(max(step - warmup_steps, 0) / span, 1.0)
        return FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * progress))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}; choose one of {', '.join(LR_SCHEDULES)}")


def make_scheduler(optimizer: torch.optim.Optimizer, schedule: str, warmup_epochs: int, epochs: int,
                   steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR | None:
    """A per-step scheduler, or None for the paper's constant rate with no warmup (nothing to step)."""
    if schedule == "constant" and warmup_epochs == 0:
        return None
    total, warmup = epochs * steps_per_epoch, warmup_epochs * steps_per_epoch
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, total, warmup, schedule))
