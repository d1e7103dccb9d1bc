"""Model zoo: every registered name builds its network and classifies, fusion wires both streams, base sizes
match the paper, unknown names get a suggestion."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mer_live.models import (
    MODEL_NAMES,
    VARIANTS,
    check_feature_compatible,
    check_input_size,
    create_model,
    list_models,
    model_in_channels,
    parse_model_name,
)
from mer_live.models import registry
from mer_live.models.fusion import LateFusion
from mer_live.models.resnext import Bottleneck3d
from mer_live.models.timesformer import DividedSpaceTimeBlock

FRAMES, SIZE, CLASSES = 4, 32, 3
# Parameters of each name at variant nano, FRAMES, SIZE, CLASSES, as the if-chain registry built them: a
# registry change must build the same networks (all 72 name x variant counts matched when it became a table).
NANO_PARAMS = {
    "ch1_swin": 1_473_384, "ch1_timesformer": 301_059, "ch1_resnext": 191_411, "ch3_swin": 1_475_432,
    "ch3_timesformer": 333_827, "ch3_resnext": 202_387, "ch4_swin": 1_476_456, "ch4_timesformer": 350_211,
    "ch4_resnext": 207_875, "ch6_swin": 1_478_504, "ch6_timesformer": 382_979, "ch6_resnext": 218_851,
    "ch3_1_fusion_cnn": 393_795, "ch3_1_fusion_cnn_like": 2_948_813, "ch3_1_fusion_transformer": 634_883,
    "ch3_3_fusion_cnn": 404_771, "ch3_3_fusion_cnn_like": 2_950_861, "ch3_3_fusion_transformer": 667_651,
}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_registry_lists_the_seed_names():
    for channels in (1, 3, 4, 6):
        for family in ("swin", "timesformer", "resnext"):
            assert f"ch{channels}_{family}" in MODEL_NAMES
    for appearance in (1, 3):
        for kind in ("cnn", "cnn_like", "transformer"):
            assert f"ch3_{appearance}_fusion_{kind}" in MODEL_NAMES
    assert VARIANTS[0] == "base" and "nano" in VARIANTS
    assert model_in_channels("ch3_swin") == 3
    assert model_in_channels("ch3_1_fusion_cnn_like") == 4
    assert model_in_channels("ch3_3_fusion_cnn") == 6


def test_every_registered_model_has_its_expected_size():
    assert list(NANO_PARAMS) == list_models() == MODEL_NAMES


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_builds_its_network_and_maps_a_clip_to_logits(name):
    torch.manual_seed(0)
    model = create_model(name, CLASSES, num_frames=FRAMES, image_size=SIZE, variant="nano").eval()
    assert n_params(model) == NANO_PARAMS[name]
    entry = parse_model_name(name)
    assert isinstance(model, LateFusion) == entry.fusion
    backbones = [model.flow_backbone, model.appearance_backbone] if entry.fusion else [model.backbone]
    assert {type(b).__name__.replace("Features", "").lower() for b in backbones} == {entry.family}
    x = torch.randn(2, FRAMES, model_in_channels(name), SIZE, SIZE)
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (2, CLASSES)
    assert torch.isfinite(logits).all()
    assert not torch.allclose(logits[0], logits[1])  # the output depends on the input


def test_non_square_image_size():
    model = create_model("ch4_swin", CLASSES, num_frames=FRAMES, image_size=(48, 32), variant="nano").eval()
    with torch.no_grad():
        assert model(torch.randn(1, FRAMES, 4, 48, 32)).shape == (1, CLASSES)


@pytest.mark.parametrize("kind", ["cnn", "cnn_like", "transformer"])
@pytest.mark.parametrize("appearance", [1, 3])
def test_fusion_splits_flow_and_appearance_and_trains_both(kind, appearance):
    torch.manual_seed(0)
    name = f"ch3_{appearance}_fusion_{kind}"
    model = create_model(name, CLASSES, num_frames=FRAMES, image_size=SIZE, variant="nano")
    assert isinstance(model, LateFusion)
    seen = {}
    model.flow_backbone.register_forward_hook(lambda m, i, o: seen.__setitem__("flow", i[0]))
    model.appearance_backbone.register_forward_hook(lambda m, i, o: seen.__setitem__("appearance", i[0]))
    x = torch.randn(2, FRAMES, 3 + appearance, SIZE, SIZE)
    model(x).sum().backward()
    assert torch.equal(seen["flow"], x[:, :, :3])
    assert torch.equal(seen["appearance"], x[:, :, 3:])
    # one linear layer on the concatenated features classifies
    assert isinstance(model.head, nn.Linear)
    assert model.head.in_features == model.flow_backbone.num_features + model.appearance_backbone.num_features
    for branch in (model.flow_backbone, model.appearance_backbone):
        grads = [p.grad for p in branch.parameters() if p.requires_grad]
        assert all(g is not None for g in grads)
        assert sum(float(g.abs().sum()) for g in grads) > 0


def _on_meta(name: str, **kw) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, CLASSES, **kw)


def test_base_swin_is_the_original_codes_video_swin_b():
    model = _on_meta("ch3_swin")
    swin = model.backbone.swin
    proj = swin.patch_embed.proj
    assert proj.kernel_size == (2, 4, 4) and proj.stride == (2, 4, 4) and proj.out_channels == 128
    assert isinstance(swin.patch_embed.norm, nn.LayerNorm)  # norm after patch embedding
    stages = [swin.features[i] for i in range(0, len(swin.features), 2)]
    assert [len(s) for s in stages] == [2, 2, 18, 2]
    assert [s[0].attn.num_heads for s in stages] == [4, 8, 16, 32]
    assert all(list(s[0].attn.window_size) == [8, 7, 7] for s in stages)
    assert stages[0][0].mlp[0].out_features == 4 * 128  # mlp ratio 4
    assert stages[-1][-1].stochastic_depth.p == pytest.approx(0.2)  # drop path 0.2 (linear ramp to it)
    assert model.dropout.p == 0.5 and model.head.in_features == 1024
    assert 87e6 < n_params(model) < 89e6                      # Video Swin-B: 88 M (Liu et al. 2022)


def test_base_timesformer_is_timesformer_b():
    model = _on_meta("ch3_timesformer", num_frames=8, image_size=224)
    backbone = model.backbone
    assert backbone.patch_embed.proj.kernel_size == (16, 16)
    assert backbone.num_features == 768 and len(backbone.blocks) == 12
    assert all(isinstance(b, DividedSpaceTimeBlock) and b.attn.num_heads == 12 for b in backbone.blocks)
    assert backbone.blocks[-1].drop_path.drop_prob == pytest.approx(0.1)
    assert backbone.time_embed.shape[1] == 8 and backbone.pos_embed.shape[2] == 14 * 14 + 1
    assert model.dropout.p == 0.5 and model.head.in_features == 768
    assert 120.5e6 < n_params(model) < 122e6                  # TimeSformer: 121.4 M (Bertasius et al. 2021)


def test_base_resnext_is_3d_resnext_101():
    model = _on_meta("ch3_resnext")
    backbone = model.backbone
    conv, pool = backbone.stem[0], backbone.stem[3]
    assert conv.kernel_size == (7, 7, 7) and conv.stride == (1, 2, 2)
    assert pool.kernel_size == 3 and pool.stride == 2
    assert [len(stage) for stage in backbone.stages] == [3, 4, 23, 3]
    blocks = [b for b in backbone.modules() if isinstance(b, Bottleneck3d)]
    assert all(b.conv2.groups == 32 for b in blocks)
    assert all(b.conv3.out_channels == 2 * b.conv3.in_channels for b in blocks)  # expansion 2
    assert all(isinstance(stage[0].shortcut, nn.Sequential) for stage in backbone.stages)  # projections
    assert backbone.num_features == 2048 and model.head.in_features == 2048
    # 3D ResNeXt-101 (Hara et al. 2018): 48.3 M with a 400-class head, 0.8 M of which the head
    assert 47e6 < n_params(model) < 48.5e6


@pytest.mark.parametrize("name,has_dropout", [("ch3_resnext", False), ("ch3_swin", True), ("ch3_timesformer", True)])
def test_heads_are_the_original_codes_and_return_logits(name, has_dropout):
    """The original's heads: ResNeXt one linear layer (no dropout); Swin and TimeSformer dropout 0.5 + linear.
    The original's Swin/TimeSformer heads end in a softmax; here every head returns the linear layer's logits."""
    torch.manual_seed(0)
    model = create_model(name, 3, num_frames=4, image_size=32, variant="nano")
    x = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        model.eval()
        assert torch.equal(model(x), model.head(model.backbone(x)))           # logits: no softmax after
        model.train()                                                          # nano: no drop path
        torch.manual_seed(1)
        first = model(x)
        torch.manual_seed(2)
        assert torch.equal(first, model(x)) != has_dropout                    # dropout is the only randomness
    assert (getattr(model.dropout, "p", 0.0) == 0.5) == has_dropout


def test_variants_shrink_the_same_design():
    sizes = {v: n_params(_on_meta("ch3_swin", variant=v)) for v in VARIANTS}
    assert sizes["base"] > sizes["small"] > sizes["tiny"] > sizes["nano"]
    assert sizes["nano"] < 2e6


def test_drop_path_option_reaches_the_blocks():
    swin = _on_meta("ch3_swin", variant="tiny", drop_path=0.3).backbone.swin
    assert swin.features[-1][-1].stochastic_depth.p == pytest.approx(0.3)
    with pytest.raises(ValueError, match="no stochastic depth"):
        create_model("ch3_resnext", CLASSES, variant="nano", drop_path=0.1)


def test_channel_mismatch_is_explained():
    with pytest.raises(ValueError) as err:
        check_feature_compatible("ch3_3_fusion_cnn_like", "GRAY_OF")
    message = str(err.value)
    for part in ("ch3_3_fusion_cnn_like", "GRAY_OF", "4", "6", "RGB_OF", "ch3_1_fusion_cnn_like"):
        assert part in message
    check_feature_compatible("ch3_1_fusion_cnn_like", "GRAY_OF")
    check_feature_compatible("ch3_swin", "RGB")
    check_feature_compatible("ch3_swin", "ONLY_OF")
    with pytest.raises(ValueError, match="ch1_swin"):
        check_feature_compatible("ch3_swin", "GRAY")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError) as err:
        create_model("ch5_swin", CLASSES)
    assert "ch5_swin" in str(err.value)
    assert all(name in str(err.value) for name in MODEL_NAMES)
    with pytest.raises(ValueError, match="variant"):
        create_model("ch3_swin", CLASSES, variant="huge")


def test_a_mistyped_name_gets_a_suggestion_never_a_correction():
    with pytest.raises(ValueError, match=r"unknown model 'ch3_1_fusion_cnnlike'; did you mean 'ch3_1_fusion_cnn_like'"):
        create_model("ch3_1_fusion_cnnlike", CLASSES, variant="nano")
    assert registry.suggest_model("ch3_swim").startswith("did you mean 'ch3_swin'")
    assert registry.suggest_model("vit_b_16") == ""
    with pytest.raises(ValueError, match="did you mean 'nano'"):
        create_model("ch3_swin", CLASSES, variant="Nano")
    with pytest.raises(ValueError, match="did you mean 'GRAY_OF'"):
        check_feature_compatible("ch3_1_fusion_cnn", "gray_of")


def test_list_models_matches_patterns():
    assert list_models("*swin") == ["ch1_swin", "ch3_swin", "ch4_swin", "ch6_swin"]
    assert list_models("ch3_*_fusion_*") == MODEL_NAMES[-6:] and len(list_models("*fusion*")) == 6
    assert list_models("ch3_1_fusion_cnn") == ["ch3_1_fusion_cnn"]         # no pattern: the name itself
    assert list_models("CH3_SWIN") == [] and list_models("nothing*") == []


def test_registry_refuses_a_name_registered_twice():
    before = dict(registry._REGISTRY)
    with pytest.raises(ValueError, match="'ch3_swin' is already registered"):
        registry._register(registry.ModelName("ch3_swin", "resnext", 3, fusion=False))
    with pytest.raises(ValueError, match="unknown family"):
        registry._register(registry.ModelName("ch3_vit", "vit", 3, fusion=False))
    assert registry._REGISTRY == before


def test_input_sizes_a_model_cannot_take_are_refused_early():
    with pytest.raises(ValueError, match="divisible by its patch size 16.*120x64"):
        check_input_size("ch3_timesformer", (120, 64), 16)
    with pytest.raises(ValueError, match="num_frames"):
        create_model("ch3_swin", CLASSES, num_frames=0, variant="nano")
    assert check_input_size("ch3_swin", (120, 64), 16) == (120, 64)  # swin pads


@pytest.mark.parametrize("kind", ["cnn", "cnn_like", "transformer"])
def test_nano_fusion_exports_to_onnx_and_matches(kind, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = create_model(f"ch3_1_fusion_{kind}", CLASSES, num_frames=FRAMES, image_size=SIZE, variant="nano").eval()
    x = torch.randn(2, FRAMES, 4, SIZE, SIZE)
    path = tmp_path / "model.onnx"
    torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=18, input_names=["x"],
                      output_names=["logits"], dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(session.run(None, {"x": x.numpy()})[0], expected, atol=1e-5)
    np.testing.assert_allclose(session.run(None, {"x": x[:1].numpy()})[0], expected[:1], atol=1e-5)
