"""Late fusion (the paper's model): flow and appearance each go through their own backbone.

Each backbone's pooled feature vector is concatenated and ONE linear layer classifies, exactly as the
original code: no dropout, no extra layers. The flow is always the input's first 3 channels (magnitude, dx, dy);
the rest (1 gray or 3 RGB) is the appearance.
"""
from __future__ import annotations

import torch
from torch import nn


class LateFusion(nn.Module):
    """Flow (first 3 channels) to one backbone, appearance (the rest) to another; concat; one linear layer."""

    FLOW_CHANNELS = 3

    def __init__(self, flow_backbone: nn.Module, appearance_backbone: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.flow_backbone = flow_backbone
        self.appearance_backbone = appearance_backbone
        self.head = nn.Linear(flow_backbone.num_features + appearance_backbone.num_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, T, 3 + C_app, H, W)
        flow = x[:, :, : self.FLOW_CHANNELS]
        appearance = x[:, :, self.FLOW_CHANNELS :]
        features = torch.cat([self.flow_backbone(flow), self.appearance_backbone(appearance)], dim=1)
        return self.head(features)
