"""3D ResNeXt backbone (Hara et al., "Can spatiotemporal 3D CNNs retrace the history of 2D CNNs", CVPR 2018).

Stem: Conv3d 7x7x7 stride (1, 2, 2), BN, ReLU, max pool 3 stride 2. Four stages of bottlenecks
(1x1x1 -> grouped 3x3x3 with `cardinality` groups -> 1x1x1, expansion 2), projection shortcuts (conv 1x1x1
+ BN) wherever shape changes, global average pool. ResNeXt-101: layers (3, 4, 23, 3), cardinality 32,
stage widths (128, 256, 512, 1024) -> 2048 features. Any T, H, W works (padding keeps every stage >= 1).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

EXPANSION = 2


@dataclass(frozen=True)
class ResNeXtConfig:
    layers: tuple[int, int, int, int]
    cardinality: int = 32
    widths: tuple[int, int, int, int] = (128, 256, 512, 1024)  # bottleneck width per stage (= "planes")
    stem_channels: int = 64

    @property
    def num_features(self) -> int:
        return self.widths[-1] * EXPANSION


# base = the original code's 3D ResNeXt-101; small = ResNeXt-50; tiny/nano = same design, narrower and shallower.
RESNEXT_CONFIGS: dict[str, ResNeXtConfig] = {
    "base": ResNeXtConfig((3, 4, 23, 3)),
    "small": ResNeXtConfig((3, 4, 6, 3)),
    "tiny": ResNeXtConfig((2, 2, 2, 2), cardinality=16, widths=(64, 128, 256, 512), stem_channels=32),
    "nano": ResNeXtConfig((1, 1, 1, 1), cardinality=8, widths=(16, 32, 64, 128), stem_channels=16),
}


class Bottleneck3d(nn.Module):
    def __init__(self, in_channels: int, planes: int, cardinality: int, stride: int) -> None:
        super().__init__()
        out_channels = planes * EXPANSION
        self.conv1 = nn.Conv3d(in_channels, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(planes, planes, kernel_size=3, stride=stride, padding=1, groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, out_channels, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm3d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:  # projection shortcut (type "B")
            self.shortcut = nn.Sequential(
                nn.Conv3d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm3d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


class ResNeXtFeatures(nn.Module):
    """(B, T, C, H, W) -> (B, widths[-1] * 2)."""

    def __init__(self, in_channels: int, config: ResNeXtConfig) -> None:
        super().__init__()
        self.config = config
        self.in_channels = in_channels
        for width in config.widths:
            if width % config.cardinality:
                raise ValueError(f"ResNeXt width {width} is not divisible by cardinality {config.cardinality}")
        self.stem = nn.Sequential(
            nn.Conv3d(in_channels, config.stem_channels, kernel_size=7, stride=(1, 2, 2), padding=3, bias=False),
            nn.BatchNorm3d(config.stem_channels),
            nn.ReLU(inplace=True),
            nn.MaxPool3d(kernel_size=3, stride=2, padding=1),
        )
        stages = []
        channels = config.stem_channels
        for index, (blocks, width) in enumerate(zip(config.layers, config.widths)):
            stage = []
            for block in range(blocks):
                stride = 2 if index > 0 and block == 0 else 1
                stage.append(Bottleneck3d(channels, width, config.cardinality, stride))
                channels = width * EXPANSION
            stages.append(nn.Sequential(*stage))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.num_features = config.num_features
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x.permute(0, 2, 1, 3, 4)))  # Conv3d wants (B, C, T, H, W)
        return torch.flatten(self.pool(x), 1)
