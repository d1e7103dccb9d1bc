"""Checkpoints: model weights plus the ModelSpec and training facts, saved atomically, loaded safely.

A checkpoint from elsewhere is untrusted input, so it is read with `weights_only=True`: only tensors
and plain containers, never pickled code. Each file records the mer-live version that wrote it, so a
checkpoint from a newer mer-live (newer format or model spec) is refused with that version named.
"""
from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mer_live.atomic import atomic_path
from mer_live.spec import ModelSpec, SpecVersionError, mer_live_version, written_by

FORMAT = "mer-live-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, corrupt or not one of ours."""


@dataclass
class Checkpoint:
    spec: ModelSpec
    state_dict: dict[str, torch.Tensor]
    info: dict[str, Any] = field(default_factory=dict)  # held_out subject, epoch, options, metrics...


def save_checkpoint(path: str | os.PathLike, ckpt: Checkpoint) -> None:
    """Write atomically: a kill mid-write never leaves a file a resume would trust."""
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mer_live_version": mer_live_version(),
        "spec": ckpt.spec.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in ckpt.state_dict.items()},
        "info": ckpt.info,
    }
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:  # into a handle: a full disk is mostly an OSError (ENOSPC) ...
            try:
                torch.save(payload, handle)
            except RuntimeError as exc:  # ... but not always: see _write_error
                error = _write_error(exc)
                if error is exc:
                    raise
                raise error from exc


def _write_error(exc: RuntimeError) -> BaseException:
    """The OSError behind torch.save's RuntimeError, or `exc` when it is about something else.

    When a write stops short (a disk filling up mid-file), torch's zip writer still writes its end record while
    the error unwinds; that finds the file shorter than it counted and raises "unexpected pos", hiding the
    OSError. Return that OSError when torch kept it in the chain; else, for "unexpected pos", a full disk (the
    way a write stops short), with no file name: `atomic_path` adds the checkpoint's.
    """
    seen: set[int] = set()
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, OSError):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    if "unexpected pos" in str(exc):
        return OSError(errno.ENOSPC, "No space left on device (the write stopped short; torch.save said "
                                     "'unexpected pos')")
    return exc


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint that this or an older mer-live wrote.

    Raises:
        CheckpointError: the file is missing, corrupt, holds pickled code, is not a mer-live checkpoint,
            has a bad model spec, or was written by a newer mer-live (the message names its version).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path} (mer-train writes them as <out>/folds/*/model.pt)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, truncated, or holding objects the weights-only loader refuses
        raise CheckpointError(f"cannot read checkpoint {path}: {describe_load_error(exc)}; use a checkpoint "
                              "written by mer-train") from sanitized_cause(exc)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a mer-live checkpoint (no '{FORMAT}' header); train one with mer-train")
    info = payload.get("info") if isinstance(payload.get("info"), dict) else {}
    version = payload.get("mer_live_version") or info.get("mer_live_version")  # older files: only in info
    version = str(version) if version else None
    format_version = payload.get("format_version", 1)
    if not isinstance(format_version, int) or isinstance(format_version, bool):
        raise CheckpointError(f"{path}: bad checkpoint header (format_version {format_version!r}); "
                              "the file is corrupt: train or copy it again")
    if format_version > FORMAT_VERSION:
        raise CheckpointError(f"{path} was written by {written_by(version)} in checkpoint format {format_version}; "
                              f"this mer-live {mer_live_version()} reads formats up to {FORMAT_VERSION}: "
                              "upgrade mer-live to the version that wrote it (or newer) to use this file")
    try:
        spec = ModelSpec.from_dict(payload["spec"], version=version, source=str(path))
    except SpecVersionError as exc:
        raise CheckpointError(str(exc)) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: bad model spec in checkpoint: {exc}") from exc
    return Checkpoint(spec=spec, state_dict=payload["state_dict"], info=info)


# Sentences of PyTorch's weights-only error that give advice (to load unsafely, or to allowlist) rather than the
# reason: an untrusted file must never be met with an invitation to run its code.
_ADVICE = ("weights_only", "weights only", "trusted source", "trust this", "safe_globals", "allowlist",
           "documentation of torch.load", "file an issue", "can still be loaded", "two options", "alternatively")


class UnloadableWeights(Exception):
    """Stands in for torch.load's own error as the cause: same frames, its message without the advice, so that
    `--debug` tracebacks never invite `weights_only=False` either."""


def sanitized_cause(exc: Exception) -> UnloadableWeights:
    """`exc` as an UnloadableWeights with its traceback kept and PyTorch's advice removed (describe_load_error)."""
    cause = UnloadableWeights(f"torch.load(weights_only=True) refused the file: {describe_load_error(exc)}")
    return cause.with_traceback(exc.__traceback__)


def describe_load_error(exc: Exception) -> str:
    """Why `torch.load(weights_only=True)` failed, in one clause, without PyTorch's advice to retry with
    `weights_only=False`: that would run code from an untrusted file, and mer-live never invites it."""
    text = str(exc).replace("WeightsUnpickler error:", "\n")
    sentences = [s.strip() for s in re.split(r"(?<=\.)\s+|\n+", text)]
    reasons = [s.rstrip(".") for s in sentences
               if s and not s.startswith("(") and not any(a in s.lower() for a in _ADVICE)]
    detail = reasons[0] if reasons else "the weights-only loader refused it"
    if "GLOBAL" in detail:
        return (f"it holds Python objects other than tensors ({detail}), and mer-live never runs code stored "
                "in a weights file")
    return f"{type(exc).__name__}: {detail} (the file is corrupt, truncated, or not a PyTorch weights file)"
