"""Train one model: one LOSO fold (train on all subjects but one, evaluate the held-out one every epoch),
or the final model on every subject. Its results depend only on the run seed, the fold and the attempt,
never on the rank, process or worker that runs it (with `--distribute ddp` the ranks train it together).

Every epoch records what the original code logged: train loss, Acc, UAR, UF1 (and the train confusion),
held-out loss, Acc, UAR, UF1 and predictions.
"""
from __future__ import annotations

import contextlib
import hashlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.data import DataLoader

from mer_live.metrics import scores_from_predictions
from mer_live.models import create_model
from mer_live.progress import progress
from training import distributed
from training.collapse import collapse_reason
from training.data import ClipDataset, epoch_plan
from training.options import BETAS, WEIGHT_DECAY, TrainOptions
from training.schedule import make_scheduler


def fold_tag(subject: str | None, attempt: int = 0) -> int:
    """Stable integer for a fold ("final" for the all-subject model) and attempt, used to seed it."""
    text = "__final__" if subject is None else subject
    if attempt:
        text += f"#attempt{attempt}"
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


@dataclass
class FoldOutcome:
    model: nn.Module
    epochs_run: int
    attempt: int = 0
    per_epoch: list[dict[str, Any]] = field(default_factory=list)   # train and held-out figures per epoch
    heldout_preds: list[list[int]] = field(default_factory=list)    # predictions per epoch
    heldout_probs: list[list[float]] = field(default_factory=list)  # last epoch's probabilities
    collapse: str | None = None                                     # why the model did not fit, or None
    seconds: float = 0.0

    @property
    def train_loss(self) -> list[float]:
        return [e["train_loss"] for e in self.per_epoch]

    @property
    def train_uf1(self) -> list[float]:
        return [e["train_uf1"] for e in self.per_epoch]


def build_model(options: TrainOptions, num_classes: int) -> nn.Module:
    return create_model(options.model, num_classes, num_frames=options.num_frames,
                        image_size=tuple(options.image_size), variant=options.variant,
                        pretrained=options.pretrained)


def _autocast(options: TrainOptions, device: torch.device):
    if options.amp and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def _loader(dataset: ClipDataset, options: TrainOptions, generator_seed: int, batch_size: int,
            steps: list[list[int]] | None = None) -> DataLoader:
    """Batches of `batch_size` in plan order, or the plan positions of each step in `steps`."""
    generator = torch.Generator().manual_seed(generator_seed)
    if steps is not None:
        return DataLoader(dataset, batch_sampler=steps, num_workers=options.workers, generator=generator,
                          pin_memory=False)
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=options.workers,
                      generator=generator, pin_memory=False)


@torch.no_grad()
def predict(model: nn.Module, dataset: ClipDataset, options: TrainOptions,
            device: torch.device) -> tuple[list[int], list[list[float]], float]:
    """Predictions, probabilities and mean cross-entropy of the (un-augmented) clips of `dataset`."""
    model.eval()
    preds: list[int] = []
    probs: list[list[float]] = []
    loss_sum = 0.0
    for x, y, _ in _loader(dataset, options, 0, max(1, options.batch_size)):
        with _autocast(options, device):
            logits = model(x.to(device, non_blocking=True)).float()
        loss_sum += float(nn.functional.cross_entropy(logits.cpu(), y, reduction="sum"))
        p = torch.softmax(logits, dim=1).cpu()
        preds.extend(p.argmax(dim=1).tolist())
        probs.extend(p.tolist())
    return preds, probs, loss_sum / max(len(preds), 1)


def train_model(options: TrainOptions, num_classes: int, train_set: ClipDataset, heldout_set: ClipDataset | None,
                subject: str | None, device: torch.device, quiet: bool = False,
                on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
                watch: Callable[[int, nn.Module], None] | None = None,
                ctx: distributed.Context | None = None, attempt: int = 0) -> FoldOutcome:
    """Train for options.epochs; with a held-out set, evaluate it after every epoch.

    With a torchrun context and `--distribute ddp` every rank runs this for the same fold: each takes its
    share of every batch, gradients are averaged, and every rank returns the same outcome.
    """
    ctx = ctx or distributed.Context()
    together = ctx.initialised and options.distribute == "ddp"
    rank, world = (ctx.rank, ctx.world) if together else (0, 1)
    tag = fold_tag(subject, attempt)
    torch.manual_seed(options.seed * 1_000_003 + tag)  # model init and dropout: per fold, not per rank
    model = build_model(options, num_classes).to(device)
    net = distributed.wrap_ddp(model, device) if together else model
    model = net.module if together else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.lr, betas=BETAS, weight_decay=WEIGHT_DECAY)
    steps_per_epoch = -(-len(train_set.labels) // options.batch_size)
    scheduler = make_scheduler(optimizer, options.lr_schedule, options.warmup_epochs, options.epochs, steps_per_epoch)
    scaler = torch.amp.GradScaler("cuda", enabled=options.amp and device.type == "cuda")
    loss_fn = nn.CrossEntropyLoss()
    outcome = FoldOutcome(model=model, epochs_run=0, attempt=attempt)
    start = time.perf_counter()
    name = "final model" if subject is None else f"fold {subject}"
    if attempt:
        name += f" (attempt {attempt + 1})"
    # counted by hand, after the epoch's figures are set: an iterated bar shows them beside the previous count
    # (a log read "fold s01: 0/10 ... train UF1=1.00" after the first epoch, and never showed 10/10)
    bar = progress(total=options.epochs, desc=name, unit="epoch", position=1, leave=False, disable=quiet)
    truth: list[int] = []
    guessed: list[int] = []
    for epoch in range(options.epochs):
        plan = epoch_plan(train_set.labels, options.seed, tag, epoch, options.imbalanced_sampler)
        batch_sizes = [min(options.batch_size, len(plan) - s) for s in range(0, len(plan), options.batch_size)]
        weights: list[float] | None = None
        steps: list[list[int]] | None = None
        if together:
            shares = distributed.rank_share(plan, options.batch_size, rank, world)
            plan = [item for items, _ in shares for item in items]
            weights = [w for _, step_weights in shares for w in step_weights]
            ends = list(itertools.accumulate(len(items) for items, _ in shares))
            steps = [list(range(end - len(items), end)) for end, (items, _) in zip(ends, shares)]
        train_set.set_plan(plan)
        net.train()
        total_loss = 0.0
        truth, guessed = [], []
        position = 0
        for step, (x, y, _) in enumerate(_loader(train_set, options, options.seed + epoch, options.batch_size,
                                                 steps)):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with _autocast(options, device):
                logits = net(x)
                if weights is None:
                    loss = loss_fn(logits.float(), y)
                else:  # the batch's mean loss once DDP has averaged the ranks' gradients
                    w = torch.tensor(weights[position:position + len(y)], device=device)
                    per_clip = nn.functional.cross_entropy(logits.float(), y, reduction="none")
                    loss = (per_clip * w).sum() * world / batch_sizes[step]
            scaler.scale(loss).backward()
            if options.clip_grad is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), options.clip_grad)
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None:
                scheduler.step()
            keep = [i for i in range(len(y)) if weights is None or weights[position + i] > 0]
            batch_truth, batch_guess = y.tolist(), logits.detach().argmax(dim=1).tolist()
            truth += [batch_truth[i] for i in keep]
            guessed += [batch_guess[i] for i in keep]
            total_loss += float(loss.detach()) * (batch_sizes[step] / world if weights is not None else len(y))
            position += len(y)
        if together:
            truth, guessed = distributed.gather(ctx, truth), distributed.gather(ctx, guessed)
            total_loss = sum(distributed.gather(ctx, [total_loss]))
        train = scores_from_predictions(truth, guessed, num_classes)
        record: dict[str, Any] = {"epoch": epoch + 1, "train_loss": total_loss / max(len(truth), 1),
                                  "train_acc": train["acc"], "train_uar": train["uar"], "train_uf1": train["uf1"],
                                  "train_confusion": train["confusion"]}
        postfix = {"loss": f"{record['train_loss']:.3f}", "train UF1": f"{train['uf1']:.2f}"}
        if heldout_set is not None:
            preds, probs, held_loss = predict(model, heldout_set, options, device)
            held = scores_from_predictions(heldout_set.labels, preds, num_classes)
            record.update({"heldout_loss": held_loss, "heldout_acc": held["acc"], "heldout_uar": held["uar"],
                           "heldout_uf1": held["uf1"]})
            outcome.heldout_preds.append(preds)
            outcome.heldout_probs = probs
            postfix["held-out acc"] = f"{held['acc']:.2f}"
        outcome.per_epoch.append(record)
        bar.set_postfix(postfix, refresh=False)
        bar.update(1)
        outcome.epochs_run = epoch + 1
        if on_epoch is not None:
            on_epoch(epoch, record)
        if watch is not None:
            watch(epoch, model)
    bar.close()
    if outcome.per_epoch:
        outcome.collapse = collapse_reason(truth, guessed, outcome.per_epoch[-1]["train_uf1"], num_classes)
    outcome.seconds = time.perf_counter() - start
    return outcome
