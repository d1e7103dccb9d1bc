"""TimeSformer backbone with divided space-time attention (Bertasius et al., ICML 2021), from timm parts.

Each block attends first across time (each patch position with itself in the other frames), then across
space (patches of one frame plus the class token), then an MLP. The positional (space) and temporal
embeddings are sized at construction, so the model is built for one image size and frame count: H and W
must be multiples of the patch size (check_input_size says so before any work starts).
Tokens are kept as (B, T, N, D) plus a separate class token, which keeps every reshape static (ONNX).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from timm.layers import Attention, DropPath, Mlp, PatchEmbed, trunc_normal_
from torch import nn


@dataclass(frozen=True)
class TimeSformerConfig:
    embed_dim: int
    depth: int
    num_heads: int
    patch_size: int = 16
    mlp_ratio: float = 4.0
    drop_path: float = 0.1

    @property
    def num_features(self) -> int:
        return self.embed_dim


# base = the original code's TimeSformer-B; small/tiny follow DeiT-S/Ti widths; nano is for tests and the live demo.
TIMESFORMER_CONFIGS: dict[str, TimeSformerConfig] = {
    "base": TimeSformerConfig(768, 12, 12, drop_path=0.1),
    "small": TimeSformerConfig(384, 12, 6, drop_path=0.1),
    "tiny": TimeSformerConfig(192, 12, 3, drop_path=0.1),
    "nano": TimeSformerConfig(64, 4, 2, drop_path=0.0),
}


class DividedSpaceTimeBlock(nn.Module):
    """Temporal attention (+ temporal_fc, as the original), then spatial attention with the class token, then MLP."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, drop_path: float) -> None:
        super().__init__()
        self.temporal_norm = nn.LayerNorm(dim, eps=1e-6)
        self.temporal_attn = Attention(dim, num_heads=num_heads, qkv_bias=True)
        self.temporal_fc = nn.Linear(dim, dim)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=True)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden_features=int(dim * mlp_ratio), act_layer=nn.GELU)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, cls: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # cls: (B, 1, D); x: (B, T, N, D)
        b, t, n, d = x.shape
        # time: every patch position attends over the T frames
        xt = x.permute(0, 2, 1, 3).reshape(b * n, t, d)
        res_t = self.temporal_fc(self.drop_path(self.temporal_attn(self.temporal_norm(xt))))
        x = x + res_t.reshape(b, n, t, d).permute(0, 2, 1, 3)
        # space: each frame's patches plus (a copy of) the class token
        xs = torch.cat([cls.unsqueeze(1).expand(b, t, 1, d), x], dim=2).reshape(b * t, n + 1, d)
        res_s = self.drop_path(self.attn(self.norm1(xs))).reshape(b, t, n + 1, d)
        cls = cls + res_s[:, :, 0].mean(dim=1, keepdim=True)  # the T class-token updates are averaged
        x = x + res_s[:, :, 1:]
        cls = cls + self.drop_path(self.mlp(self.norm2(cls)))
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return cls, x


class TimeSformerFeatures(nn.Module):
    """(B, T, C, H, W) -> (B, embed_dim): the normalised class token after all blocks."""

    def __init__(
        self,
        in_channels: int,
        config: TimeSformerConfig,
        num_frames: int,
        image_size: tuple[int, int],
        drop_path: float | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.in_channels = in_channels
        self.num_frames = num_frames
        dim = config.embed_dim
        self.patch_embed = PatchEmbed(img_size=image_size, patch_size=config.patch_size, in_chans=in_channels, embed_dim=dim)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1, num_patches + 1, dim))  # space (class token first)
        self.time_embed = nn.Parameter(torch.zeros(1, num_frames, 1, dim))
        rate = config.drop_path if drop_path is None else drop_path
        rates = [rate * i / max(config.depth - 1, 1) for i in range(config.depth)]
        self.blocks = nn.ModuleList(DividedSpaceTimeBlock(dim, config.num_heads, config.mlp_ratio, r) for r in rates)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.num_features = dim
        self._init_weights()

    def _init_weights(self) -> None:
        trunc_normal_(self.pos_embed, std=0.02)
        trunc_normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        # as the original: temporal branches after the first start as identity
        for block in list(self.blocks)[1:]:
            nn.init.zeros_(block.temporal_fc.weight)
            nn.init.zeros_(block.temporal_fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c, h, w = x.shape
        if t != self.num_frames:  # shape check (static under export), not data-dependent
            raise ValueError(f"this TimeSformer was built for {self.num_frames} frames, got {t}")
        tokens = self.patch_embed(x.reshape(b * t, c, h, w))  # (B*T, N, D)
        tokens = tokens.reshape(b, t, -1, self.num_features)
        cls = self.cls_token.expand(b, -1, -1) + self.pos_embed[:, 0, :1]
        tokens = tokens + self.pos_embed[:, :, 1:] + self.time_embed
        for block in self.blocks:
            cls, tokens = block(cls, tokens)
        return self.norm(cls)[:, 0]
