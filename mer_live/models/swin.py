"""Video Swin Transformer backbone: torchvision's SwinTransformer3d with a 1/3/4/6-channel patch embedding.

torchvision builds the network (so its Kinetics-400 state dict loads by name, see pretrained.py); we only
swap the patch-embedding Conv3d for one with our channel count and drop torchvision's classifier, so the
module returns pooled features. torchvision wants (B, C, T, H, W); we take (B, T, C, H, W) and permute.
Any H, W, T works: torchvision pads to the patch and window sizes.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import nn
from torchvision.models.video.swin_transformer import SwinTransformer3d


@dataclass(frozen=True)
class SwinConfig:
    embed_dim: int
    depths: tuple[int, ...]
    num_heads: tuple[int, ...]
    patch_size: tuple[int, int, int] = (2, 4, 4)
    window_size: tuple[int, int, int] = (8, 7, 7)
    mlp_ratio: float = 4.0
    drop_path: float = 0.2

    @property
    def num_features(self) -> int:
        return self.embed_dim * 2 ** (len(self.depths) - 1)


# base = the original code's Video Swin-B; small/tiny = torchvision swin3d_s / swin3d_t; nano = same design, tiny.
SWIN_CONFIGS: dict[str, SwinConfig] = {
    "base": SwinConfig(128, (2, 2, 18, 2), (4, 8, 16, 32), drop_path=0.2),
    "small": SwinConfig(96, (2, 2, 18, 2), (3, 6, 12, 24), drop_path=0.1),
    "tiny": SwinConfig(96, (2, 2, 6, 2), (3, 6, 12, 24), drop_path=0.1),
    "nano": SwinConfig(32, (1, 1, 2, 1), (1, 2, 4, 8), drop_path=0.0),
}


def build_torchvision_swin3d(config: SwinConfig, num_classes: int = 400, drop_path: float | None = None) -> SwinTransformer3d:
    """The torchvision network for a config, 3 input channels, with its own head (the K400 layout)."""
    return SwinTransformer3d(
        patch_size=list(config.patch_size),
        embed_dim=config.embed_dim,
        depths=list(config.depths),
        num_heads=list(config.num_heads),
        window_size=list(config.window_size),
        mlp_ratio=config.mlp_ratio,
        stochastic_depth_prob=config.drop_path if drop_path is None else drop_path,
        num_classes=num_classes,
        norm_layer=partial(nn.LayerNorm, eps=1e-5),
    )


class SwinFeatures(nn.Module):
    """(B, T, C, H, W) -> (B, num_features): patch embed, 4 Swin stages, final norm, global average pool."""

    def __init__(self, in_channels: int, config: SwinConfig, drop_path: float | None = None) -> None:
        super().__init__()
        self.config = config
        self.in_channels = in_channels
        swin = build_torchvision_swin3d(config, num_classes=1, drop_path=drop_path)
        old = swin.patch_embed.proj
        swin.patch_embed.proj = nn.Conv3d(in_channels, old.out_channels, kernel_size=old.kernel_size, stride=old.stride)
        swin.head = nn.Identity()  # the classifier lives outside (heads.py / fusion.py)
        self.swin = swin
        self.num_features = config.num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.swin(x.permute(0, 2, 1, 3, 4))  # -> (B, C, T, H, W), torchvision's layout
