"""Start a swin model from a LOCAL file of public Kinetics-400 Video Swin weights; nothing downloads.

Accepted files: torchvision's swin3d_{t,s,b} state dict (keys `patch_embed.proj.weight`,
`features.0.0.attn.qkv.weight`, ...) or the original Video Swin checkpoint (mmaction: keys under
"state_dict" with prefix "backbone.", `layers.N.blocks.M...`, `layers.N.downsample...`), whose names are
mapped to torchvision's. The RGB patch-embedding kernel is inflated to the model's channel count (mean over
RGB, copied to each channel); the Kinetics classifier is skipped. In a fusion model both swin streams load.
The file is untrusted input: torch.load(weights_only=True).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import torch
from torch import nn

from mer_live.models.swin import SwinFeatures

PATCH_KERNEL = "patch_embed.proj.weight"
_SKIPPED_PREFIXES = ("head.", "cls_head.", "fc_cls.")
_BUFFERS_REBUILT = ("relative_position_index",)  # computed from the window size, may be absent from a file


class PretrainedError(ValueError):
    """A pretrained-weights file is missing, unreadable or does not fit the model."""


def _mmaction_to_torchvision(key: str) -> str:
    """Original Video Swin names -> torchvision SwinTransformer3d names."""
    block = re.match(r"^layers\.(\d+)\.blocks\.(\d+)\.(.*)$", key)
    if block:
        stage, index, rest = int(block.group(1)), block.group(2), block.group(3)
        rest = rest.replace("mlp.fc1.", "mlp.0.").replace("mlp.fc2.", "mlp.3.")
        return f"features.{2 * stage}.{index}.{rest}"
    down = re.match(r"^layers\.(\d+)\.downsample\.(.*)$", key)
    if down:
        return f"features.{2 * int(down.group(1)) + 1}.{down.group(2)}"
    return key


def read_swin_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load a Video Swin weights file and return it under torchvision's names, classifier removed."""
    path = Path(path)
    if not path.is_file():
        raise PretrainedError(
            f"pretrained weights file not found: {path}. Give a local Kinetics-400 Video Swin file "
            "(torchvision swin3d_* state dict or the original Video Swin .pth); nothing is downloaded."
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, truncated, pickled code
        from mer_live.checkpoint import describe_load_error, sanitized_cause

        raise PretrainedError(f"cannot read pretrained weights {path}: {describe_load_error(exc)}") \
            from sanitized_cause(exc)
    if isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict):
        payload = payload["state_dict"]
    elif isinstance(payload, dict) and isinstance(payload.get("model"), dict):
        payload = payload["model"]
    if not isinstance(payload, dict) or not all(isinstance(v, torch.Tensor) for v in payload.values()):
        raise PretrainedError(f"{path} holds no state dict of tensors (nor one under 'state_dict' or 'model')")
    state: dict[str, torch.Tensor] = {}
    for key, value in payload.items():
        for prefix in ("module.", "backbone."):
            if key.startswith(prefix):
                key = key[len(prefix):]
        if key.startswith(_SKIPPED_PREFIXES):
            continue
        state[_mmaction_to_torchvision(key)] = value
    if PATCH_KERNEL not in state:
        raise PretrainedError(
            f"{path} is not a Video Swin checkpoint: no '{PATCH_KERNEL}' (or 'backbone.{PATCH_KERNEL}'); "
            f"its first keys are {list(payload)[:5]}"
        )
    return state


def inflate_patch_kernel(kernel: torch.Tensor, in_channels: int) -> torch.Tensor:
    """(E, 3, t, h, w) RGB kernel -> (E, in_channels, t, h, w): RGB as is, otherwise the RGB mean in every channel."""
    if kernel.shape[1] == in_channels:
        return kernel.clone()
    return kernel.mean(dim=1, keepdim=True).repeat(1, in_channels, 1, 1, 1)


def _load_into(swin: SwinFeatures, state: dict[str, torch.Tensor], path: Path) -> None:
    target = {k: v for k, v in swin.swin.state_dict().items() if not k.startswith("head.")}
    source = dict(state)
    source[PATCH_KERNEL] = inflate_patch_kernel(source[PATCH_KERNEL], swin.in_channels)
    missing = [k for k in target if k not in source and not k.endswith(_BUFFERS_REBUILT)]
    unexpected = [k for k in source if k not in target]
    mismatched = [f"{k}: file {tuple(source[k].shape)} vs model {tuple(target[k].shape)}"
                  for k in target if k in source and source[k].shape != target[k].shape]
    if missing or unexpected or mismatched:
        def examples(items: list[str]) -> str:
            return f"{len(items)}" + (f" (e.g. {', '.join(items[:3])})" if items else "")

        raise PretrainedError(
            f"pretrained weights {path} do not fit this swin (embed {swin.config.embed_dim}, depths "
            f"{swin.config.depths}): missing {examples(missing)}; unexpected {examples(unexpected)}; "
            f"shape mismatch {examples(mismatched)}. Use the file of the matching variant "
            "(base = swin3d_b / Swin-B, small = swin3d_s, tiny = swin3d_t)."
        )
    swin.swin.load_state_dict({k: v for k, v in source.items() if k in target}, strict=False)


def load_pretrained(
    model: nn.Module, weights: str | os.PathLike | dict[str, torch.Tensor], source: str | os.PathLike | None = None
) -> int:
    """Load Kinetics-400 Video Swin weights (a path, or read_swin_state_dict's result) into every swin stream.

    Returns how many swin streams were loaded (2 for a fusion model). `source` names the file in errors.
    """
    swins = [m for m in model.modules() if isinstance(m, SwinFeatures)]
    if not swins:
        raise PretrainedError(
            "pretrained weights are Video Swin (Kinetics-400) weights and only fit swin models "
            "(ch*_swin, ch3_*_fusion_cnn_like); this model has no swin backbone"
        )
    state = weights if isinstance(weights, dict) else read_swin_state_dict(weights)
    name = Path(source if source is not None else weights if not isinstance(weights, dict) else "<state dict>")
    for swin in swins:
        _load_into(swin, state, name)
    return len(swins)
