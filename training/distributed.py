"""Process group for `torchrun`: folds are shared out across ranks, not split inside a fold.

Each rank trains whole folds on its own device (gloo on CPU, nccl on GPU) and writes their results to
the shared output folder; rank 0 merges them into the report. Without torchrun the same code runs as a
single process (world 1) and every call here is a no-op.
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


def stop(ctx: Context) -> None:
    if ctx.initialised and dist.is_initialized():
        dist.destroy_process_group()
