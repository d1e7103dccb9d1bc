"""Model names (as the seed spells them) -> networks; size variants; input checks that fail before any work.

Names: `ch{1,3,4,6}_{swin,timesformer,resnext}` (the number is the input channels per frame) and
`ch3_{1,3}_fusion_{cnn,cnn_like,transformer}` (late fusion of a 3-channel flow stream with a 1-channel gray
or 3-channel RGB stream; cnn = resnext, cnn_like = swin, transformer = timesformer).

Variants (one option, `variant`, same design at every size; "base" is the paper's size). Parameters are
for a 3-channel single stream with 3 classes at 16 frames 224 px (TimeSformer's embeddings grow with
frames and pixels; the fusion models are roughly the sum of their two streams):

| family       | variant | configuration                                              | params  | intended use |
|--------------|---------|------------------------------------------------------------|---------|--------------|
| swin         | base    | Video Swin-B: embed 128, depths 2-2-18-2, heads 4-8-16-32  | 87.6 M  | paper reproduction (GPU) |
| swin         | small   | swin3d_s: embed 96, depths 2-2-18-2, heads 3-6-12-24       | 49.5 M  | GPU training, fewer params |
| swin         | tiny    | swin3d_t: embed 96, depths 2-2-6-2, heads 3-6-12-24        | 27.9 M  | GPU training, quick LOSO |
| swin         | nano    | embed 32, depths 1-1-2-1, heads 1-2-4-8                    | 1.5 M   | CPU: tests, live app |
| timesformer  | base    | TimeSformer-B: embed 768, depth 12, heads 12, patch 16     | 121.3 M | paper reproduction (GPU) |
| timesformer  | small   | embed 384, depth 12, heads 6, patch 16                     | 30.6 M  | GPU training |
| timesformer  | tiny    | embed 192, depth 12, heads 3, patch 16                     | 7.8 M   | GPU / patient CPU training |
| timesformer  | nano    | embed 64, depth 4, heads 2, patch 16                       | 0.35 M  | CPU: tests, live app |
| resnext      | base    | 3D ResNeXt-101: layers 3-4-23-3, cardinality 32            | 47.5 M  | paper reproduction (GPU) |
| resnext      | small   | 3D ResNeXt-50: layers 3-4-6-3, cardinality 32              | 25.9 M  | GPU training |
| resnext      | tiny    | layers 2-2-2-2, cardinality 16, widths 64-512, stem 32     | 4.4 M   | CPU training |
| resnext      | nano    | layers 1-1-1-1, cardinality 8, widths 16-128, stem 16      | 0.2 M   | CPU: tests, live app |

Swin and TimeSformer keep the seed's drop path at base (0.2, 0.1); small/tiny use 0.1, nano 0
(`drop_path=` overrides). Every variant keeps the original code's heads (Swin, TimeSformer: dropout 0.5 + linear;
ResNeXt: one linear; fusion: one linear), returning logits where the original's Swin and TimeSformer gave
softmax probabilities to its cross-entropy (see mer_live.models.heads).

Live app on a 2-core CPU: use `ch3_1_fusion_cnn_like` variant "nano" at 8 frames and 64-112 px: a batch-1
forward takes ~17 ms at 64 px and ~32 ms at 112 px in torch with ONE intra-op thread (onnxruntime: ~11 /
~22 ms), far above 5 predictions/s; "tiny" (~200 ms at 64 px in onnxruntime) leaves no room for face
tracking and flow. Run inference with 1 thread on 2 cores: with 2 threads and the other live threads busy,
torch's forward became up to 50x slower. benchmarks/bench_models.py measures.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from torch import nn

from mer_live.features import FEATURE_CHANNELS
from mer_live.models.fusion import LateFusion
from mer_live.models.heads import HEAD_DROPOUT, VideoClassifier
from mer_live.models.pretrained import PretrainedError, load_pretrained, read_swin_state_dict
from mer_live.models.resnext import RESNEXT_CONFIGS, ResNeXtFeatures
from mer_live.models.swin import SWIN_CONFIGS, SwinFeatures
from mer_live.models.timesformer import TIMESFORMER_CONFIGS, TimeSformerFeatures

FAMILIES = ("swin", "timesformer", "resnext")
FUSION_KINDS = {"cnn": "resnext", "cnn_like": "swin", "transformer": "timesformer"}
SINGLE_CHANNELS = (1, 3, 4, 6)
APPEARANCE_CHANNELS = (1, 3)
VARIANTS = ("base", "small", "tiny", "nano")

MODEL_NAMES: list[str] = [f"ch{c}_{family}" for c in SINGLE_CHANNELS for family in FAMILIES] + [
    f"ch3_{a}_fusion_{kind}" for a in APPEARANCE_CHANNELS for kind in FUSION_KINDS
]

_SINGLE = re.compile(r"^ch(\d+)_(swin|timesformer|resnext)$")
_FUSION = re.compile(r"^ch3_(\d+)_fusion_(cnn|cnn_like|transformer)$")


@dataclass(frozen=True)
class ModelName:
    """A parsed registry name."""

    name: str
    family: str            # swin | timesformer | resnext (the backbone of every stream)
    in_channels: int       # channels per frame of the whole input
    fusion: bool
    appearance_channels: int = 0  # fusion only: 1 (gray) or 3 (RGB) after the 3 flow channels


def parse_model_name(name: str) -> ModelName:
    """Parse a seed-style name, or raise ValueError listing every known name."""
    single = _SINGLE.match(name)
    if single and int(single.group(1)) in SINGLE_CHANNELS:
        return ModelName(name, single.group(2), int(single.group(1)), fusion=False)
    fusion = _FUSION.match(name)
    if fusion and int(fusion.group(1)) in APPEARANCE_CHANNELS:
        appearance = int(fusion.group(1))
        return ModelName(name, FUSION_KINDS[fusion.group(2)], 3 + appearance, True, appearance)
    raise ValueError(
        f"unknown model {name!r}. Known models: {', '.join(MODEL_NAMES)} "
        "(ch{N}_{backbone}: N input channels; ch3_{1|3}_fusion_{kind}: flow + gray|RGB late fusion; "
        "cnn = resnext, cnn_like = swin, transformer = timesformer)"
    )


def model_in_channels(name: str) -> int:
    """Channels per frame the model takes (fusion: 3 flow + 1 or 3 appearance)."""
    return parse_model_name(name).in_channels


def compatible_features(name: str) -> list[str]:
    """Feature modes whose channel count the model takes."""
    channels = model_in_channels(name)
    return [mode for mode, c in FEATURE_CHANNELS.items() if c == channels]


def check_feature_compatible(name: str, feature: str) -> None:
    """Raise ValueError, before any work, when `feature` does not give the channels `name` takes."""
    if feature not in FEATURE_CHANNELS:
        raise ValueError(f"unknown feature {feature!r}; choose one of {', '.join(FEATURE_CHANNELS)}")
    needed = model_in_channels(name)
    given = FEATURE_CHANNELS[feature]
    if given == needed:
        return
    works_with_model = compatible_features(name)
    parsed = parse_model_name(name)
    same_family = [n for n in MODEL_NAMES
                   if (other := parse_model_name(n)).fusion == parsed.fusion and other.family == parsed.family]
    works_with_feature = [n for n in same_family if model_in_channels(n) == given]
    raise ValueError(
        f"model {name} takes {needed} input channels per frame but feature {feature} gives {given}. "
        f"Use {name} with -feature {' or '.join(works_with_model)}"
        + (f", or use {' / '.join(works_with_feature)} with -feature {feature}" if works_with_feature else "")
        + "."
    )


def _as_hw(image_size: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    if isinstance(image_size, int):
        return (image_size, image_size)
    hw = tuple(int(v) for v in image_size)
    if len(hw) == 1:
        return (hw[0], hw[0])
    if len(hw) != 2:
        raise ValueError(f"image_size must be one int or (height, width), got {image_size!r}")
    return hw  # type: ignore[return-value]


def check_input_size(name: str, image_size: int | tuple[int, int], num_frames: int, variant: str = "base") -> tuple[int, int]:
    """Raise ValueError for a size or frame count the model cannot take; return (h, w)."""
    parsed = parse_model_name(name)
    if variant not in VARIANTS:
        raise ValueError(f"unknown model variant {variant!r}; choose one of {', '.join(VARIANTS)} (see mer_live.models)")
    h, w = _as_hw(image_size)
    if h < 1 or w < 1:
        raise ValueError(f"image size must be positive, got {h}x{w}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if parsed.family == "timesformer":
        patch = TIMESFORMER_CONFIGS[variant].patch_size
        if h % patch or w % patch:
            fix_h, fix_w = max(patch, round(h / patch) * patch), max(patch, round(w / patch) * patch)
            raise ValueError(
                f"{name} (TimeSformer) needs image height and width divisible by its patch size {patch}, "
                f"got {h}x{w}; use e.g. -imgsize {fix_h} {fix_w}"
            )
    return h, w


def _backbone(family: str, in_channels: int, variant: str, num_frames: int, hw: tuple[int, int], drop_path: float | None) -> nn.Module:
    if family == "swin":
        return SwinFeatures(in_channels, SWIN_CONFIGS[variant], drop_path=drop_path)
    if family == "timesformer":
        return TimeSformerFeatures(in_channels, TIMESFORMER_CONFIGS[variant], num_frames, hw, drop_path=drop_path)
    return ResNeXtFeatures(in_channels, RESNEXT_CONFIGS[variant])  # no stochastic depth in the seed's ResNeXt


def create_model(
    name: str,
    num_classes: int,
    num_frames: int = 16,
    image_size: int | tuple[int, int] = 224,
    variant: str = "base",
    pretrained: str | None = None,
    drop_path: float | None = None,
    **kw,
) -> nn.Module:
    """Build a model taking (B, T, C, H, W) float32 and returning logits (B, num_classes).

    `drop_path` overrides the variant's stochastic depth rate (swin, timesformer). `pretrained` is a LOCAL
    Kinetics-400 Video Swin file (torchvision state dict or original checkpoint), swin models only.
    `dropout` (kw) overrides the single-stream head's dropout (the original code's: HEAD_DROPOUT).
    """
    parsed = parse_model_name(name)
    hw = check_input_size(name, image_size, num_frames, variant)
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    unknown = set(kw) - {"dropout"}
    if unknown:
        raise TypeError(f"create_model got unexpected options {sorted(unknown)}")
    if "dropout" in kw and parsed.fusion:
        raise ValueError(f"{name} is late fusion: one linear layer, no dropout to set (the seed's design)")
    if drop_path is not None and parsed.family == "resnext":
        raise ValueError(f"{name} is a ResNeXt, which has no stochastic depth (drop_path); leave drop_path unset")
    pretrained_state = None
    if pretrained is not None:  # read and check the file before building anything large
        if parsed.family != "swin":
            raise PretrainedError(
                f"pretrained weights are Video Swin (Kinetics-400) weights and only fit swin models "
                f"(ch*_swin, ch3_*_fusion_cnn_like), not {name}"
            )
        pretrained_state = read_swin_state_dict(pretrained)
    if parsed.fusion:
        model: nn.Module = LateFusion(
            _backbone(parsed.family, 3, variant, num_frames, hw, drop_path),
            _backbone(parsed.family, parsed.appearance_channels, variant, num_frames, hw, drop_path),
            num_classes,
        )
    else:
        backbone = _backbone(parsed.family, parsed.in_channels, variant, num_frames, hw, drop_path)
        model = VideoClassifier(backbone, num_classes, dropout=kw.get("dropout", HEAD_DROPOUT[parsed.family]))
    if pretrained_state is not None:
        load_pretrained(model, pretrained_state, source=pretrained)
    return model
