"""Train one model: one LOSO fold (train on all subjects but one, evaluate the held-out one every epoch),
or the final model on every subject. Its results depend only on the run seed and the fold, never on the
rank, process or worker that runs it.
"""
from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.data import DataLoader

from mer_live.metrics import scores_from_predictions
from mer_live.models import create_model
from mer_live.progress import progress
from training.data import ClipDataset, epoch_plan
from training.options import BETAS, WEIGHT_DECAY, TrainOptions


def fold_tag(subject: str | None) -> int:
    """Stable integer for a fold ("final" for the all-subject model), used to seed it."""
    text = "__final__" if subject is None else subject
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


@dataclass
class FoldOutcome:
    model: nn.Module
    epochs_run: int
    train_loss: list[float] = field(default_factory=list)
    train_uf1: list[float] = field(default_factory=list)
    heldout: list[dict[str, Any]] = field(default_factory=list)        # scores per epoch
    heldout_preds: list[list[int]] = field(default_factory=list)       # predictions per epoch
    heldout_probs: list[list[float]] = field(default_factory=list)     # last epoch's probabilities
    seconds: float = 0.0


def build_model(options: TrainOptions, num_classes: int) -> nn.Module:
    return create_model(options.model, num_classes, num_frames=options.num_frames,
                        image_size=tuple(options.image_size), variant=options.variant,
                        pretrained=options.pretrained)


def _autocast(options: TrainOptions, device: torch.device):
    if options.amp and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def _loader(dataset: ClipDataset, options: TrainOptions, generator_seed: int, batch_size: int) -> DataLoader:
    generator = torch.Generator().manual_seed(generator_seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=options.workers,
                      generator=generator, pin_memory=False)


@torch.no_grad()
def predict(model: nn.Module, dataset: ClipDataset, options: TrainOptions, device: torch.device) -> tuple[list[int], list[list[float]]]:
    model.eval()
    preds: list[int] = []
    probs: list[list[float]] = []
    for x, _, _ in _loader(dataset, options, 0, max(1, options.batch_size)):
        with _autocast(options, device):
            logits = model(x.to(device, non_blocking=True))
        p = torch.softmax(logits.float(), dim=1).cpu()
        preds.extend(p.argmax(dim=1).tolist())
        probs.extend(p.tolist())
    return preds, probs


def train_model(options: TrainOptions, num_classes: int, train_set: ClipDataset, heldout_set: ClipDataset | None,
                subject: str | None, device: torch.device, quiet: bool = False,
                on_epoch: Callable[[int, dict[str, Any]], None] | None = None) -> FoldOutcome:
    """Train for options.epochs; with a held-out set, evaluate it after every epoch."""
    tag = fold_tag(subject)
    torch.manual_seed(options.seed * 1_000_003 + tag)  # model init and dropout: per fold, not per rank
    model = build_model(options, num_classes).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.lr, betas=BETAS, weight_decay=WEIGHT_DECAY)
    scaler = torch.amp.GradScaler("cuda", enabled=options.amp and device.type == "cuda")
    loss_fn = nn.CrossEntropyLoss()
    outcome = FoldOutcome(model=model, epochs_run=0)
    start = time.perf_counter()
    name = "final" if subject is None else f"fold {subject}"
    bar = progress(range(options.epochs), desc=name, unit="epoch", position=1, leave=False, disable=quiet)
    for epoch in bar:
        train_set.set_plan(epoch_plan(train_set.labels, options.seed, tag, epoch, options.imbalanced_sampler))
        model.train()
        total_loss, seen = 0.0, 0
        truth: list[int] = []
        guessed: list[int] = []
        for x, y, _ in _loader(train_set, options, options.seed + epoch, options.batch_size):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with _autocast(options, device):
                logits = model(x)
                loss = loss_fn(logits.float(), y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total_loss += float(loss.detach()) * len(y)
            seen += len(y)
            truth.extend(y.tolist())
            guessed.extend(logits.detach().argmax(dim=1).tolist())
        train_scores = scores_from_predictions(truth, guessed, num_classes)
        outcome.train_loss.append(total_loss / max(seen, 1))
        outcome.train_uf1.append(train_scores["uf1"])
        postfix = {"loss": f"{outcome.train_loss[-1]:.3f}", "train UF1": f"{train_scores['uf1']:.2f}"}
        epoch_record: dict[str, Any] = {"loss": outcome.train_loss[-1], "train_uf1": train_scores["uf1"]}
        if heldout_set is not None:
            preds, probs = predict(model, heldout_set, options, device)
            held = scores_from_predictions(heldout_set.labels, preds, num_classes)
            outcome.heldout.append({k: held[k] for k in ("acc", "uar", "uf1")})
            outcome.heldout_preds.append(preds)
            outcome.heldout_probs = probs
            postfix["held-out acc"] = f"{held['acc']:.2f}"
            epoch_record.update({"heldout_acc": held["acc"], "heldout_uf1": held["uf1"]})
        bar.set_postfix(postfix)
        outcome.epochs_run = epoch + 1
        if on_epoch is not None:
            on_epoch(epoch, epoch_record)
    bar.close()
    outcome.seconds = time.perf_counter() - start
    return outcome


def test_selected_epoch(heldout: list[dict[str, Any]]) -> int:
    """The seed's choice: the epoch best on the held-out subject itself (accuracy, then UF1, then earliest).

    Optimistic by construction (the test data picks the model); reported only beside the honest figure.
    """
    return int(max(range(len(heldout)), key=lambda e: (heldout[e]["acc"], heldout[e]["uf1"], -e)))
