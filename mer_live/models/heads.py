"""The seed's single-stream head: pooled backbone features -> dropout 0.5 -> linear.

Every backbone here is a *feature extractor*: it takes (B, T, C, H, W) and returns pooled features
(B, num_features) and says how many in `.num_features`. Keeping the classifier outside the backbone is
what lets late fusion "remove each backbone's classifier" without surgery.
"""
from __future__ import annotations

import torch
from torch import nn


class VideoClassifier(nn.Module):
    """Single stream: backbone features -> dropout -> linear (the seed's head, dropout 0.5)."""

    def __init__(self, backbone: nn.Module, num_classes: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(backbone.num_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, T, C, H, W)
        return self.head(self.dropout(self.backbone(x)))
