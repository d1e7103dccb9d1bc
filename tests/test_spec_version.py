"""Spec versions are read: files from a newer mer-live are refused naming its version, older files still load."""
from __future__ import annotations

import json

import onnx
import pytest
import torch
from onnx import TensorProto, helper

from mer_live.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from mer_live.onnx_metadata import SPEC_KEY, MetadataError, read_metadata, write_metadata
from mer_live.runtime import OnnxClassifier
from mer_live.spec import SPEC_VERSION, ModelSpec, SpecVersionError, mer_live_version

# A spec exactly as mer-live 0.1.0 wrote it (spec_version 1): these files must keep loading.
V1_SPEC = {"class_names": ["ne", "po", "sur"], "clip_seconds": 0.3, "dataset": "SMIC", "feature": "GRAY_OF",
           "flow_params": {"flags": 0, "iterations": 3, "levels": 3, "poly_n": 5, "poly_sigma": 1.2,
                           "pyr_scale": 0.5, "winsize": 15},
           "fps": 100.0, "image_size": [64, 48], "interpolation": "linear", "model": "ch3_1_fusion_cnn_like",
           "num_frames": 8, "spec_version": 1, "variant": "nano"}
NEWER = "9.9.0"


def _spec() -> ModelSpec:
    return ModelSpec(model="ch3_1_fusion_cnn_like", class_names=("ne", "po", "sur"), num_frames=8,
                     image_size=(64, 48), variant="nano", fps=100.0, clip_seconds=0.3, dataset="SMIC")


def _assert_refusal(message: str, *parts: str) -> None:
    assert "\n" not in message and "upgrade mer-live" in message
    for part in parts:
        assert part in message


# ---------------------------------------------------------------------------------------- checkpoints

def _checkpoint(path, spec_dict: dict, **header) -> None:
    """A checkpoint as some mer-live wrote it: `header` overrides or adds top-level keys."""
    payload = {"format": "mer-live-checkpoint", "format_version": 1, "spec": spec_dict,
               "state_dict": {"w": torch.zeros(2)}, "info": {"epoch": 1}, **header}
    torch.save(payload, path)


def test_checkpoint_of_a_newer_spec_version_is_refused_naming_its_writer(tmp_path):
    path = tmp_path / "new.pt"
    _checkpoint(path, {**V1_SPEC, "spec_version": SPEC_VERSION + 1}, mer_live_version=NEWER)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    _assert_refusal(str(err.value), str(path), f"mer-live {NEWER}", f"version {SPEC_VERSION + 1}",
                    f"up to {SPEC_VERSION}")


def test_checkpoint_with_unknown_spec_keys_is_refused_not_trimmed(tmp_path):
    path = tmp_path / "extra.pt"
    _checkpoint(path, {**V1_SPEC, "face_margin": 0.3, "zz_norm": "imagenet"}, mer_live_version=NEWER)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    _assert_refusal(str(err.value), f"mer-live {NEWER}", "face_margin, zz_norm")


def test_checkpoint_of_a_newer_format_is_refused(tmp_path):
    path = tmp_path / "format.pt"
    _checkpoint(path, V1_SPEC, format_version=2, mer_live_version=NEWER)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    _assert_refusal(str(err.value), f"mer-live {NEWER}", "format 2")


def test_old_checkpoint_without_recorded_version_still_loads(tmp_path):
    path = tmp_path / "old.pt"
    _checkpoint(path, dict(V1_SPEC))                  # 0.1.0 wrote no top-level mer_live_version
    ckpt = load_checkpoint(path)
    assert ckpt.spec == _spec() and ckpt.spec.spec_version == SPEC_VERSION
    assert ckpt.info == {"epoch": 1}


def test_new_checkpoints_record_the_writing_version(tmp_path):
    save_checkpoint(tmp_path / "m.pt", Checkpoint(_spec(), {"w": torch.zeros(1)}, {}))
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    assert payload["mer_live_version"] == mer_live_version() and payload["spec"]["spec_version"] == SPEC_VERSION
    assert load_checkpoint(tmp_path / "m.pt").spec == _spec()


# ---------------------------------------------------------------------------------------- ONNX files

def _onnx(path, spec_dict: dict, version: str) -> None:
    """A tiny ONNX file carrying mer-live metadata with `spec_dict` as its spec, written by `version`."""
    node = helper.make_node("Identity", ["clip"], ["probs"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("clip", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    write_metadata(model, _spec())
    for prop in model.metadata_props:
        if prop.key == SPEC_KEY:
            prop.value = json.dumps(spec_dict)
        elif prop.key == "mer_live.version":
            prop.value = version
    onnx.save(model, str(path))


def test_onnx_of_a_newer_spec_version_is_refused_naming_its_writer(tmp_path):
    path = tmp_path / "new.onnx"
    _onnx(path, {**V1_SPEC, "spec_version": SPEC_VERSION + 1}, NEWER)
    for load in (read_metadata, lambda p: OnnxClassifier(p, provider="cpu", warmup=False)):
        with pytest.raises(MetadataError) as err:
            load(path)
        _assert_refusal(str(err.value), str(path), f"mer-live {NEWER}", f"version {SPEC_VERSION + 1}")


def test_onnx_with_unknown_spec_keys_is_refused_not_trimmed(tmp_path):
    path = tmp_path / "extra.onnx"
    _onnx(path, {**V1_SPEC, "face_margin": 0.3}, NEWER)
    with pytest.raises(MetadataError) as err:
        read_metadata(path)
    _assert_refusal(str(err.value), f"mer-live {NEWER}", "face_margin")


def test_old_onnx_file_still_loads(tmp_path):
    path = tmp_path / "old.onnx"
    _onnx(path, V1_SPEC, "unknown")                   # 0.1.0 run from a source tree wrote "unknown"
    assert read_metadata(path) == _spec()


# ---------------------------------------------------------------------------------------- the spec itself

def test_from_dict_never_trims_and_names_an_unrecorded_writer():
    with pytest.raises(SpecVersionError, match="did not record its version.*extra_key"):
        ModelSpec.from_dict({**V1_SPEC, "extra_key": 1})
    with pytest.raises(ValueError, match="spec_version"):
        ModelSpec.from_dict({**V1_SPEC, "spec_version": "2"})
    spec = _spec()
    assert ModelSpec.from_json(spec.to_json()) == spec
