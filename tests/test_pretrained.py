"""Kinetics-400 Video Swin weights from a local file: both key layouts, kernel inflation, clear errors."""
from __future__ import annotations

import re

import pytest
import torch

from mer_live.models import PretrainedError, create_model
from mer_live.models.swin import SWIN_CONFIGS, build_torchvision_swin3d

FRAMES, SIZE = 4, 32
QKV = "features.2.0.attn.qkv.weight"  # a block of stage 2 (after one patch merging)


@pytest.fixture(scope="module")
def k400_state() -> dict[str, torch.Tensor]:
    """A torchvision-layout swin3d state dict (3 channels, 400-class head), as swin3d_t's file would be."""
    torch.manual_seed(1)
    return build_torchvision_swin3d(SWIN_CONFIGS["nano"], num_classes=400).state_dict()


@pytest.fixture()
def torchvision_file(k400_state, tmp_path):
    path = tmp_path / "swin3d_nano_k400.pth"
    torch.save(k400_state, path)
    return path


def to_original_layout(state: dict[str, torch.Tensor]) -> dict:
    """Write torchvision names as the original Video Swin (mmaction) checkpoint spells them."""
    out = {}
    for key, value in state.items():
        block = re.match(r"features\.(\d+)\.(\d+)\.(.*)", key)
        down = re.match(r"features\.(\d+)\.(reduction|norm)\.(.*)", key)
        if down and int(down.group(1)) % 2 == 1:
            key = f"layers.{int(down.group(1)) // 2}.downsample.{down.group(2)}.{down.group(3)}"
        elif block:
            rest = block.group(3).replace("mlp.0.", "mlp.fc1.").replace("mlp.3.", "mlp.fc2.")
            key = f"layers.{int(block.group(1)) // 2}.blocks.{block.group(2)}.{rest}"
        key = key.replace("head.", "cls_head.fc_cls.") if key.startswith("head.") else "backbone." + key
        out[key] = value
    return {"meta": {"epoch": 30}, "state_dict": out}


def rgb_kernel(state):
    return state["patch_embed.proj.weight"]


@pytest.mark.parametrize("name,channels", [("ch1_swin", 1), ("ch4_swin", 4)])
def test_torchvision_weights_load_with_inflated_patch_kernel(name, channels, torchvision_file, k400_state):
    model = create_model(name, 3, num_frames=FRAMES, image_size=SIZE, variant="nano", pretrained=torchvision_file)
    swin = model.backbone.swin
    kernel = swin.patch_embed.proj.weight
    assert kernel.shape[1] == channels
    mean = rgb_kernel(k400_state).mean(dim=1)
    for c in range(channels):
        torch.testing.assert_close(kernel[:, c], mean)
    torch.testing.assert_close(swin.state_dict()[QKV], k400_state[QKV])
    torch.testing.assert_close(swin.norm.weight, k400_state["norm.weight"])
    assert model.head.out_features == 3  # the Kinetics classifier was skipped, ours kept
    with torch.no_grad():
        assert model.eval()(torch.randn(1, FRAMES, channels, SIZE, SIZE)).shape == (1, 3)


def test_original_video_swin_checkpoint_maps_to_torchvision_names(k400_state, tmp_path):
    path = tmp_path / "swin_k400_original.pth"
    torch.save(to_original_layout(k400_state), path)
    model = create_model("ch3_swin", 3, num_frames=FRAMES, image_size=SIZE, variant="nano", pretrained=path)
    loaded = model.backbone.swin.state_dict()
    for key, value in k400_state.items():
        if not key.startswith("head."):
            torch.testing.assert_close(loaded[key], value, msg=key)


def test_fusion_loads_both_swin_streams(torchvision_file, k400_state):
    model = create_model("ch3_1_fusion_cnn_like", 3, num_frames=FRAMES, image_size=SIZE, variant="nano",
                         pretrained=torchvision_file)
    torch.testing.assert_close(model.flow_backbone.swin.patch_embed.proj.weight, rgb_kernel(k400_state))
    torch.testing.assert_close(model.appearance_backbone.swin.patch_embed.proj.weight,
                               rgb_kernel(k400_state).mean(dim=1, keepdim=True))
    for branch in (model.flow_backbone, model.appearance_backbone):
        torch.testing.assert_close(branch.swin.state_dict()[QKV], k400_state[QKV])


def test_missing_file_is_named(tmp_path):
    missing = tmp_path / "nope.pth"
    with pytest.raises(PretrainedError, match=re.escape(str(missing))):
        create_model("ch3_swin", 3, num_frames=FRAMES, image_size=SIZE, variant="nano", pretrained=missing)


def test_mismatched_keys_are_counted_with_examples(k400_state, tmp_path):
    broken = dict(k400_state)
    del broken[QKV]
    broken["features.9.0.extra.weight"] = torch.zeros(1)
    path = tmp_path / "broken.pth"
    torch.save(broken, path)
    with pytest.raises(PretrainedError) as err:
        create_model("ch3_swin", 3, num_frames=FRAMES, image_size=SIZE, variant="nano", pretrained=path)
    message = str(err.value)
    assert str(path) in message
    assert f"missing 1 (e.g. {QKV})" in message
    assert "unexpected 1 (e.g. features.9.0.extra.weight)" in message


def test_weights_of_another_size_are_refused(tmp_path):
    bigger = build_torchvision_swin3d(SWIN_CONFIGS["nano"].__class__(48, (1, 1, 2, 1), (1, 2, 4, 8)))
    path = tmp_path / "wider.pth"
    torch.save(bigger.state_dict(), path)
    with pytest.raises(PretrainedError, match="shape mismatch [1-9]"):
        create_model("ch3_swin", 3, num_frames=FRAMES, image_size=SIZE, variant="nano", pretrained=path)


def test_pickled_code_is_not_loaded(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"x": object()}}, path)
    with pytest.raises(PretrainedError, match="cannot read"):
        create_model("ch3_swin", 3, num_frames=FRAMES, image_size=SIZE, variant="nano", pretrained=path)


def test_non_swin_models_refuse_swin_weights(torchvision_file):
    with pytest.raises(PretrainedError, match="only fit swin models"):
        create_model("ch3_resnext", 3, num_frames=FRAMES, image_size=SIZE, variant="nano", pretrained=torchvision_file)
