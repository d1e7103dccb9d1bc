"""Process group for `torchrun`, in one of two modes (`--distribute`):

- "folds": each rank trains whole folds on its own device (gloo on CPU, nccl on GPU) and writes their
  results to the shared output folder; rank 0 merges them into the report. A fold's result does not
  depend on which rank ran it, so the report equals a single process's.
- "ddp": every rank trains the same fold together (DistributedDataParallel). Each epoch's plan of clips
  (the imbalanced sampler's draws included) is drawn identically on every rank and every batch of -bs
  clips is split across the ranks: each clip once per epoch, and -bs is the batch of one optimizer step
  over all ranks, as the original code's -bs was (its main.py required -bs to divide by the world size and
  gave each rank -bs / world). It does not copy the original's sampling: its ImbalancedDDPSampler seeded
  with seed + epoch and never used the rank, so every rank drew the same clips, and without that sampler
  every rank went through the whole training set (an epoch of world times as many steps). BatchNorm
  layers are synchronised on GPUs (SyncBatchNorm), not on CPU, where PyTorch's does not run: there each
  rank normalises its own share and the figures differ from a single process's. Rank 0 writes the fold's
  files.

Without torchrun the same code runs as a single process (world 1) and every call here is a no-op.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

# Folds differ in length; a rank may wait long at the final barrier for the slowest one.
BARRIER_TIMEOUT = datetime.timedelta(days=7)
DISTRIBUTE_MODES = ("folds", "ddp")


@dataclass
class Context:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    initialised: bool = False


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", os.environ.get("RANK", "0")))


def start(device: torch.device) -> Context:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Context()
    rank = int(os.environ["RANK"])
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=BARRIER_TIMEOUT)
    return Context(rank=rank, world=world, local_rank=local_rank(), initialised=True)


def barrier(ctx: Context) -> None:
    if ctx.initialised:
        dist.barrier()


def broadcast(ctx: Context, value: Any) -> Any:
    """Rank 0's `value` on every rank."""
    if not ctx.initialised:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(ctx: Context, values: list) -> list:
    """Every rank's `values` concatenated in rank order (a copy of `values` without torchrun)."""
    if not ctx.initialised:
        return list(values)
    boxes: list[list | None] = [None] * ctx.world
    dist.all_gather_object(boxes, list(values))
    return [v for box in boxes for v in box]


def has_batchnorm(model: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())


def syncs_batchnorm(device: torch.device) -> bool:
    """Whether ddp ranks on `device` normalise a batch together: torch's SyncBatchNorm runs on GPUs only
    (on CPU it raises "SyncBatchNorm layers only work with GPU modules"), so CPU ranks keep their own."""
    return device.type == "cuda"


def wrap_ddp(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """The model under DistributedDataParallel (its parameters start as rank 0's); its `.module` is the network
    to evaluate and save. On a GPU its BatchNorm layers become SyncBatchNorm (same parameters and buffers, so
    checkpoints are unchanged) and normalise over the whole batch, as a single process does."""
    from torch.nn.parallel import DistributedDataParallel

    if syncs_batchnorm(device) and has_batchnorm(model):
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)


def rank_share(plan: list, batch_size: int, rank: int, world: int) -> list[tuple[list, list[float]]]:
    """This rank's part of an epoch plan: one (items, weights) per optimizer step.

    Batch j of the plan is plan[j*batch_size:(j+1)*batch_size]; rank r takes its items r, r+world, ..., so
    the ranks' shares differ by one item at most and every rank takes one step per batch. A rank left with
    no item (a batch smaller than the world) takes the batch's first one with weight 0, which adds nothing
    to the gradient (with BatchNorm it does enter that step's batch statistics).
    """
    steps: list[tuple[list, list[float]]] = []
    for start in range(0, len(plan), batch_size):
        batch = plan[start:start + batch_size]
        mine = batch[rank::world]
        steps.append((mine, [1.0] * len(mine)) if mine else ([batch[0]], [0.0]))
    return steps


def stop(ctx: Context) -> None:
    if ctx.initialised and dist.is_initialized():
        dist.destroy_process_group()
