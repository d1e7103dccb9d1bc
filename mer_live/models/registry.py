"""The model registry: names (as the original code spells them) -> networks; size variants; input checks.

Names: `ch{1,3,4,6}_{swin,timesformer,resnext}` (the number is the input channels per frame) and
`ch3_{1,3}_fusion_{cnn,cnn_like,transformer}` (late fusion of a 3-channel flow stream with a 1-channel gray
or 3-channel RGB stream). The fusion names keep the original code's words for the backbones: `cnn` is the
ResNeXt, `cnn_like` is the Swin (a transformer whose local windows and stages work like a CNN's), and
`transformer` is the TimeSformer.

Two lookup tables, no if-chains: `_FAMILIES` holds each backbone family (its variant configs and how to
build one stream), and the registry maps every name to a `ModelName` entry of numbers (family, channels,
fusion). `create_model` looks the name up and passes the entry's numbers to one private factory; a name is
registered once (a second registration is refused). `list_models("*swin")` lists names by pattern, and an
unknown name is answered with the closest names ("did you mean ..."), never corrected silently.

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

Swin and TimeSformer keep the original code's drop path at base (0.2, 0.1); small/tiny use 0.1, nano 0
(`drop_path=` overrides). Every variant keeps the original code's heads (Swin, TimeSformer: dropout 0.5 + linear;
ResNeXt: one linear; fusion: one linear), returning logits where the original's Swin and TimeSformer gave
softmax probabilities to its cross-entropy (see mer_live.models.heads).

Live app on a 2-core CPU: use `ch3_1_fusion_cnn_like` variant "nano" at 8 frames and 64-112 px; "tiny"
leaves no room for face tracking and flow. Run inference with ONE intra-op thread on 2 cores: with 2 threads
and the other live threads busy, torch's forward was measured many times slower. benchmarks/bench_models.py
measures the forward times of every family and variant.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from torch import nn

from mer_live.features import FEATURE_CHANNELS
from mer_live.models.fusion import LateFusion
from mer_live.models.heads import HEAD_DROPOUT, VideoClassifier
from mer_live.models.pretrained import PretrainedError, load_pretrained, read_swin_state_dict
from mer_live.models.resnext import RESNEXT_CONFIGS, ResNeXtFeatures
from mer_live.models.swin import SWIN_CONFIGS, SwinFeatures
from mer_live.models.timesformer import TIMESFORMER_CONFIGS, TimeSformerFeatures
from mer_live.suggest import did_you_mean

VARIANTS = ("base", "small", "tiny", "nano")
SINGLE_CHANNELS = (1, 3, 4, 6)
APPEARANCE_CHANNELS = (1, 3)


@dataclass(frozen=True)
class Family:
    """One backbone design: its configs per variant and how to build one stream of it.

    `build(in_channels, config, num_frames, (h, w), drop_path)` returns a feature extractor with
    `.num_features`.
    """

    name: str
    title: str                            # for messages: "Swin", "TimeSformer", "ResNeXt"
    fusion_kind: str                      # the original code's word for it in fusion names
    configs: Mapping[str, Any]            # variant -> config
    build: Callable[[int, Any, int, tuple[int, int], float | None], nn.Module]
    drop_path: bool                       # has stochastic depth (a `drop_path` rate to set)
    patch_multiple: bool = False          # image sides must be multiples of config.patch_size (no padding)
    kinetics_weights: bool = False        # the local Kinetics-400 Video Swin weights fit it


_FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("swin", "Swin", "cnn_like", SWIN_CONFIGS, drop_path=True, kinetics_weights=True,
           build=lambda c, config, t, hw, dp: SwinFeatures(c, config, drop_path=dp)),
    Family("timesformer", "TimeSformer", "transformer", TIMESFORMER_CONFIGS, drop_path=True, patch_multiple=True,
           build=lambda c, config, t, hw, dp: TimeSformerFeatures(c, config, t, hw, drop_path=dp)),
    Family("resnext", "ResNeXt", "cnn", RESNEXT_CONFIGS, drop_path=False,  # the original ResNeXt has none
           build=lambda c, config, t, hw, dp: ResNeXtFeatures(c, config)),
)}
FAMILIES = tuple(_FAMILIES)
FUSION_KINDS = dict(sorted((family.fusion_kind, family.name) for family in _FAMILIES.values()))


@dataclass(frozen=True)
class ModelName:
    """A registry entry: the numbers that make a name's network."""

    name: str
    family: str            # swin | timesformer | resnext (the backbone of every stream)
    in_channels: int       # channels per frame of the whole input
    fusion: bool
    appearance_channels: int = 0  # fusion only: 1 (gray) or 3 (RGB) after the 3 flow channels


_REGISTRY: dict[str, ModelName] = {}


def _register(entry: ModelName) -> None:
    """Add a name to the registry; a name registered twice, or of an unknown family, is a bug here."""
    if entry.name in _REGISTRY:
        raise ValueError(f"model {entry.name!r} is already registered as {_REGISTRY[entry.name]}")
    if entry.family not in _FAMILIES:
        raise ValueError(f"model {entry.name!r}: unknown family {entry.family!r}; families: {', '.join(FAMILIES)}")
    _REGISTRY[entry.name] = entry


for _channels in SINGLE_CHANNELS:
    for _family in FAMILIES:
        _register(ModelName(f"ch{_channels}_{_family}", _family, _channels, fusion=False))
for _appearance in APPEARANCE_CHANNELS:
    for _kind, _family in FUSION_KINDS.items():
        _register(ModelName(f"ch3_{_appearance}_fusion_{_kind}", _family, 3 + _appearance, True, _appearance))

MODEL_NAMES: list[str] = list(_REGISTRY)


def list_models(pattern: str = "*") -> list[str]:
    """Registered names matching a shell-style `pattern` (fnmatch, case-sensitive), in registry order.

    `list_models("ch3_*_fusion_*")` gives the six late-fusion models, `list_models("*swin")` the
    single-stream Swins.
    """
    return [name for name in _REGISTRY if fnmatch.fnmatchcase(name, pattern)]


def suggest_model(name: str) -> str:
    """"did you mean 'ch3_swin'?" for a mistyped model name ("" when no name is close): for messages."""
    return did_you_mean(name, _REGISTRY)


def parse_model_name(name: str) -> ModelName:
    """The registry entry of `name`.

    Raises:
        ValueError: `name` is not registered; the message suggests the closest names and lists them all.
    """
    entry = _REGISTRY.get(name)
    if entry is not None:
        return entry
    hint = suggest_model(name)
    raise ValueError(
        f"unknown model {name!r}" + (f"; {hint}" if hint else ".") + f" Known models: {', '.join(_REGISTRY)} "
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
    """Check, before any work, that `feature` gives the channels `name` takes.

    Raises:
        ValueError: an unknown model or feature, or a channel mismatch; the message names both and the
            features (or same-family models) that would fit.
    """
    if feature not in FEATURE_CHANNELS:
        hint = did_you_mean(feature, FEATURE_CHANNELS)
        raise ValueError(f"unknown feature {feature!r}" + (f"; {hint}" if hint else "")
                         + f" (choose one of {', '.join(FEATURE_CHANNELS)})")
    parsed = parse_model_name(name)
    needed, given = parsed.in_channels, FEATURE_CHANNELS[feature]
    if given == needed:
        return
    works_with_feature = [other.name for other in _REGISTRY.values() if other.fusion == parsed.fusion
                          and other.family == parsed.family and other.in_channels == given]
    raise ValueError(
        f"model {name} takes {needed} input channels per frame but feature {feature} gives {given}. "
        f"Use {name} with -feature {' or '.join(compatible_features(name))}"
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
    """Check a size and frame count before any work; return (h, w).

    Raises:
        ValueError: an unknown model or variant, a size or frame count below 1, or (TimeSformer) image
            sides that are not multiples of the patch size (the message proposes a size that fits).
    """
    entry = parse_model_name(name)
    if variant not in VARIANTS:
        hint = did_you_mean(variant, VARIANTS)
        raise ValueError(f"unknown model variant {variant!r}" + (f"; {hint}" if hint else "")
                         + f" (choose one of {', '.join(VARIANTS)}; see mer_live.models)")
    h, w = _as_hw(image_size)
    if h < 1 or w < 1:
        raise ValueError(f"image size must be positive, got {h}x{w}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    family = _FAMILIES[entry.family]
    if family.patch_multiple:
        patch = family.configs[variant].patch_size
        if h % patch or w % patch:
            fix_h, fix_w = max(patch, round(h / patch) * patch), max(patch, round(w / patch) * patch)
            raise ValueError(
                f"{name} ({family.title}) needs image height and width divisible by its patch size {patch}, "
                f"got {h}x{w}; use e.g. -imgsize {fix_h} {fix_w}"
            )
    return h, w


def _build(entry: ModelName, num_classes: int, variant: str, num_frames: int, hw: tuple[int, int],
           drop_path: float | None, dropout: float) -> nn.Module:
    """The one factory behind every name: the entry's numbers -> one stream, or two streams in late fusion."""
    family = _FAMILIES[entry.family]
    config = family.configs[variant]
    if entry.fusion:
        return LateFusion(family.build(LateFusion.FLOW_CHANNELS, config, num_frames, hw, drop_path),
                          family.build(entry.appearance_channels, config, num_frames, hw, drop_path), num_classes)
    return VideoClassifier(family.build(entry.in_channels, config, num_frames, hw, drop_path), num_classes,
                           dropout=dropout)


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

    Args:
        name: a registered name (`list_models()`), e.g. "ch3_1_fusion_cnn_like".
        num_classes: outputs of the classifier (>= 2).
        num_frames: time steps per clip; TimeSformer's time embedding is sized for it.
        image_size: one int or (height, width) of the face crop.
        variant: base | small | tiny | nano (the table above).
        pretrained: a LOCAL Kinetics-400 Video Swin file (torchvision state dict or original checkpoint),
            swin models only; nothing is downloaded.
        drop_path: overrides the variant's stochastic depth rate (swin, timesformer).
        dropout: (keyword) overrides the single-stream head's dropout (the original code's: `HEAD_DROPOUT`,
            0.5 for Swin and TimeSformer, none for ResNeXt).

    Raises:
        ValueError: an unknown name (with "did you mean ..."), variant or size the model cannot take,
            fewer than 2 classes, `dropout` for a fusion model, or `drop_path` for a ResNeXt.
        TypeError: an option other than `dropout` in `kw`.
        PretrainedError: `pretrained` for a model without a swin stream, or a file that is missing,
            unreadable or does not fit the variant.
    """
    entry = parse_model_name(name)
    hw = check_input_size(name, image_size, num_frames, variant)
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    unknown = set(kw) - {"dropout"}
    if unknown:
        raise TypeError(f"create_model got unexpected options {sorted(unknown)}")
    if "dropout" in kw and entry.fusion:
        raise ValueError(f"{name} is late fusion: one linear layer, no dropout to set (the original code's design)")
    family = _FAMILIES[entry.family]
    if drop_path is not None and not family.drop_path:
        raise ValueError(f"{name} is a {family.title}, which has no stochastic depth (drop_path); "
                         "leave drop_path unset")
    pretrained_state = None
    if pretrained is not None:  # read and check the file before building anything large
        if not family.kinetics_weights:
            raise PretrainedError(
                f"pretrained weights are Video Swin (Kinetics-400) weights and only fit swin models "
                f"(ch*_swin, ch3_*_fusion_cnn_like), not {name}"
            )
        pretrained_state = read_swin_state_dict(pretrained)
    model = _build(entry, num_classes, variant, num_frames, hw, drop_path,
                   kw.get("dropout", HEAD_DROPOUT[entry.family]))
    if pretrained_state is not None:
        load_pretrained(model, pretrained_state, source=pretrained)
    return model
