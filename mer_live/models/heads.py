"""The single-stream heads of the original code (Hong et al. 2022): pooled features -> [dropout] -> linear.

Every backbone here is a *feature extractor*: it takes (B, T, C, H, W) and returns pooled features
(B, num_features) and says how many in `.num_features`. Keeping the classifier outside the backbone is
what lets late fusion "remove each backbone's classifier" without surgery.

Heads as the original code has them (`HEAD_DROPOUT`): Swin and TimeSformer use mmaction's I3DHead,
dropout 0.5 then one linear layer; the 3D ResNeXt has one linear layer and no dropout.
One fix: the original's I3DHead ends in a softmax and its training applies cross-entropy on top of those
probabilities, a double softmax whose gradients vanish as the network grows confident. Every head here
returns logits; cross-entropy takes the softmax once.
"""
from __future__ import annotations

import torch
from torch import nn

# The original code's head dropout per backbone family.
HEAD_DROPOUT = {"swin": 0.5, "timesformer": 0.5, "resnext": 0.0}


class VideoClassifier(nn.Module):
    """Single stream: backbone features -> dropout (none when 0) -> linear; returns logits."""

    def __init__(self, backbone: nn.Module, num_classes: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(backbone.num_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, T, C, H, W)
        return self.head(self.dropout(self.backbone(x)))
