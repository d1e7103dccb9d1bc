"""Hostile or broken model files: forged sizes, forged specs, and metadata that does not fit its graph.

Each file is built here from the shipped demo model (its spec rewritten in the metadata) or written as a
checkpoint by hand. Every command must refuse it in one line with status 6, naming the field and the bound,
before anything is sized by it: ONNX Runtime's session constructor is made to fail, so a test that reaches it
(today's behaviour: the spec was trusted and read later) fails at once instead of allocating gigabytes.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from export.cli import main as mer_export
from gui.cli import main as mer_live
from mer_live.checkpoint import CheckpointError, load_checkpoint
from mer_live.cli_errors import EXIT_BAD_MODEL
from mer_live.onnx_metadata import SPEC_KEY, MetadataError, load_model_proto, read_metadata, write_metadata
from mer_live.runtime import OnnxClassifier
from mer_live.spec import ModelSpec
from mer_live.spot_eval import cli as spot_cli
from mer_live.spot_eval.synthetic import make_long_videos
from mer_live.streaming import demo

REAL_VIDEO = Path(__file__).parent / "data" / "real" / "WolfgangLanger_Pexels.mp4"
DEMO_SPEC = read_metadata(demo.demo_model_path()).to_dict()   # 8 frames x 4 channels (GRAY_OF) x 64x64, 3 classes

# (what is forged, the words the refusal must hold)
TOO_BIG = {   # item 7: sizes that would allocate gigabytes
    "num_frames 1e9": ({"num_frames": 1e9}, ["num_frames", "1..256"]),
    "num_frames 10**9": ({"num_frames": 10 ** 9}, ["num_frames 1000000000", "1..256"]),
    "image_size 100000": ({"image_size": [100000, 100000]}, ["image_size 100000", "8..1024"]),
    "clip_seconds 1e6": ({"clip_seconds": 1e6}, ["clip_seconds", "(0, 10]"]),
    "fps inf": ({"fps": float("inf")}, ["fps inf", "(0, 1000]"]),
    "256 frames of 1024 px RGB_OF": ({"num_frames": 256, "image_size": [1024, 1024], "feature": "RGB_OF"},
                                           ["values per clip", "over the bound"]),
    "a 10 s window at 1000 fps of 1024 px": ({"clip_seconds": 10.0, "fps": 1000.0, "image_size": [1024, 1024]},
                                             ["live window", "over the bound"]),
}
FORGED = {    # item 9: values that make no sense
    "num_frames 0": ({"num_frames": 0}, ["num_frames 0", "1..256"]),
    "negative size": ({"image_size": [-64, 64]}, ["image_size -64", "8..1024"]),
    "negative clip_seconds": ({"clip_seconds": -0.5}, ["clip_seconds -0.5", "(0, 10]"]),
    "no classes": ({"class_names": []}, ["class_names holds 0 classes", "1..1000"]),
    "feature XRAY": ({"feature": "XRAY"}, ["feature 'XRAY'", "GRAY_OF"]),
    "fps 0": ({"fps": 0}, ["fps 0", "(0, 1000]"]),
    "fps nan": ({"fps": float("nan")}, ["fps nan"]),
    "num_frames true": ({"num_frames": True}, ["num_frames True"]),
    "image_size a number": ({"image_size": 64}, ["image_size 64 is not [height, width]"]),
    "class names repeated": ({"class_names": ["ne", "ne", "po"]}, ["repeats a class"]),
    "class name with a newline": ({"class_names": ["ne", "po\nx", "sur"]}, ["class_names[1]"]),
    "interpolation cubic": ({"interpolation": "cubic"}, ["interpolation 'cubic'"]),
}


def forged_onnx(path: Path, spec_changes: dict, graph=None) -> Path:
    """The demo model (or `graph`'s model) with its metadata spec rewritten by `spec_changes`."""
    model = load_model_proto(demo.demo_model_path()) if graph is None else graph
    if graph is not None:
        write_metadata(model, ModelSpec.from_dict(DEMO_SPEC))
    for prop in model.metadata_props:
        if prop.key == SPEC_KEY:
            prop.value = json.dumps({**DEMO_SPEC, **spec_changes})
    onnx.save(model, str(path))
    return path


def forged_checkpoint(path: Path, spec_changes: dict) -> Path:
    payload = {"format": "mer-live-checkpoint", "format_version": 1, "spec": {**DEMO_SPEC, **spec_changes},
               "state_dict": {"w": torch.zeros(2)}, "info": {}}
    torch.save(payload, path)
    return path


@pytest.fixture
def no_session(monkeypatch):
    """Building an ONNX Runtime session fails: a refusal must come before it."""
    def refuse(*args, **kwargs):
        raise RuntimeError("an ONNX Runtime session was built for a file that should have been refused")

    monkeypatch.setattr(ort, "InferenceSession", refuse)


@pytest.fixture
def no_model_built(monkeypatch):
    """mer-export must refuse a checkpoint before building its network or an example input."""
    import export.onnx_export as onnx_export

    def refuse(*args, **kwargs):
        raise AssertionError("a network was built from a checkpoint that should have been refused")

    monkeypatch.setattr(onnx_export, "model_from_checkpoint", refuse)
    monkeypatch.setattr(onnx_export, "example_input", refuse)


def one_refusal(err: str, out: str, prog: str, words: list[str]) -> str:
    assert "Traceback" not in err + out, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------------------ items 7 and 9: the spec
@pytest.mark.parametrize("changes, words", [*TOO_BIG.values(), *FORGED.values()], ids=[*TOO_BIG, *FORGED])
def test_mer_live_refuses_an_onnx_file_with_a_forged_spec(tmp_path, capsys, no_session, changes, words):
    model = forged_onnx(tmp_path / "evil.onnx", changes)
    status = mer_live(["--headless", "--face", "full", "--quiet", "--source", str(REAL_VIDEO), "--model", str(model)])
    out, err = capsys.readouterr()
    line = one_refusal(err, out, "mer-live", words)
    assert status == EXIT_BAD_MODEL and str(model) in line


@pytest.fixture(scope="module")
def spot_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("spot_hostile")
    make_long_videos(root, "CASME_SQ", videos=1, seed=3, counts={"micro": (1, 1), "macro": (0, 0)},
                     lead_in_s=(1.0, 1.0), gap_s=(0.5, 0.5), frame_size=(40, 48), crop=True)
    return root


@pytest.mark.parametrize("case", ["num_frames 1e9", "image_size 100000", "no classes", "fps 0"])
def test_mer_spot_refuses_an_onnx_file_with_a_forged_spec(tmp_path, capsys, spot_root, no_session, case):
    changes, words = {**TOO_BIG, **FORGED}[case]
    model = forged_onnx(tmp_path / "evil.onnx", changes)
    status = spot_cli.main([str(spot_root), "CASME_SQ", "--face", "full", "--quiet", "--out", str(tmp_path / "o"),
                            "--model", str(model)])
    out, err = capsys.readouterr()
    one_refusal(err, out, "mer-spot", words)
    assert status == EXIT_BAD_MODEL


@pytest.mark.parametrize("case", ["num_frames 10**9", "image_size 100000", "num_frames 0", "no classes",
                                  "feature XRAY", "negative clip_seconds", "fps 0"])
def test_mer_export_refuses_a_checkpoint_with_a_forged_spec(tmp_path, capsys, no_model_built, case):
    changes, words = {**TOO_BIG, **FORGED}[case]
    if case == "num_frames 10**9":
        changes, words = {"num_frames": 10 ** 7}, ["num_frames 10000000", "1..256"]   # the issue's checkpoint
    checkpoint = forged_checkpoint(tmp_path / "evil.pt", changes)
    status = mer_export([str(checkpoint), "-o", str(tmp_path / "evil.onnx")])
    out, err = capsys.readouterr()
    one_refusal(err, out, "mer-export", words)
    assert status == EXIT_BAD_MODEL and not (tmp_path / "evil.onnx").exists()


def test_bounds_leave_every_shipped_and_trained_spec_alone(tmp_path):
    assert ModelSpec.from_dict(DEMO_SPEC).to_dict() == DEMO_SPEC
    paper = {**DEMO_SPEC, "num_frames": 16, "image_size": [224, 224], "feature": "RGB_OF", "fps": 200.0,
             "clip_seconds": 0.5, "class_names": ["negative", "positive", "surprise", "others", "repression"]}
    assert ModelSpec.from_dict(paper).num_frames == 16
    with pytest.raises(CheckpointError, match=r"bad model spec in checkpoint: num_frames 10000000"):
        load_checkpoint(forged_checkpoint(tmp_path / "m.pt", {"num_frames": 10 ** 7}))


# ------------------------------------------------------------------------------ item 8: graph vs metadata
def tiny_graph(input_dims: list, output_width, *, inputs: int = 1, elem=TensorProto.FLOAT) -> onnx.ModelProto:
    """clip -> mean over C, H, W -> the first `output_width` of the T means: a model ONNX Runtime can run."""
    axes = helper.make_tensor("axes", TensorProto.INT64, [3], [2, 3, 4])
    starts = helper.make_tensor("starts", TensorProto.INT64, [1], [0])
    ends = helper.make_tensor("ends", TensorProto.INT64, [1], [5])
    slice_axes = helper.make_tensor("slice_axes", TensorProto.INT64, [1], [1])
    nodes = [helper.make_node("ReduceMean", ["clip", "axes"], ["mean"], keepdims=0),
             helper.make_node("Slice", ["mean", "starts", "ends", "slice_axes"], ["probs"])]
    graph_inputs = [helper.make_tensor_value_info("clip", elem, input_dims)]
    graph_inputs += [helper.make_tensor_value_info(f"extra{i}", TensorProto.FLOAT, [1]) for i in range(inputs - 1)]
    graph = helper.make_graph(nodes, "tiny", graph_inputs,
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", output_width])],
                              initializer=[axes, starts, ends, slice_axes])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)


MISFITS = {   # the demo model's graph takes 8 x 4 x 64 x 64 and gives 3 classes; its metadata is forged
    "frames": (None, {"num_frames": 4}, ["8 frames x 4 channels x 64x64 px", "metadata says 4 frames"]),
    "channels": (None, {"feature": "RGB"}, ["4 channels", "3 channels (RGB)"]),
    "size": (None, {"image_size": [32, 48]}, ["64x64 px", "32x48 px"]),
    "class count": (None, {"class_names": ["a", "b", "c", "d", "e"]}, ["gives 3 class scores", "names 5 classes"]),
    "rank": (lambda: tiny_graph(["batch", 4, 64, 64], 3), {}, ["of rank 4", "B,T,C,H,W"]),
    "5 outputs, 3 names": (lambda: tiny_graph(["batch", 8, 4, 64, 64], 5), {}, ["gives 5 class scores",
                                                                                "names 3 classes"]),
    "dynamic frames": (lambda: tiny_graph(["batch", "T", 4, 64, 64], 3), {}, ["axis T", "not fixed (T)"]),
    "two inputs": (lambda: tiny_graph(["batch", 8, 4, 64, 64], 3, inputs=2), {}, ["takes 2 inputs"]),
    "integer input": (lambda: tiny_graph(["batch", 8, 4, 64, 64], 3, elem=TensorProto.INT64), {}, ["INT64"]),
    "huge fixed batch": (lambda: tiny_graph([10 ** 6, 8, 4, 64, 64], 3), {}, ["batch of 1000000", "1..1024"]),
}


@pytest.mark.parametrize("make, changes, words", MISFITS.values(), ids=MISFITS)
def test_metadata_that_does_not_fit_the_graph_is_refused_at_load(tmp_path, no_session, make, changes, words):
    model = forged_onnx(tmp_path / "misfit.onnx", changes, graph=make() if make else None)
    with pytest.raises(MetadataError) as refused:
        OnnxClassifier(model, provider="cpu")
    message = str(refused.value)
    assert "\n" not in message and message.startswith(str(model)) and "mer-export" in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("case", ["frames", "5 outputs, 3 names"])
@pytest.mark.parametrize("command", ["mer-live", "mer-spot"])
def test_commands_refuse_a_misfit_in_one_line_before_running(tmp_path, capsys, spot_root, no_session, case, command):
    make, changes, words = MISFITS[case]
    model = forged_onnx(tmp_path / "misfit.onnx", changes, graph=make() if make else None)
    if command == "mer-live":
        status = mer_live(["--headless", "--face", "full", "--quiet", "--source", str(REAL_VIDEO), "--out",
                           str(tmp_path / "p.csv"), "--model", str(model)])
    else:
        status = spot_cli.main([str(spot_root), "CASME_SQ", "--face", "full", "--quiet", "--out",
                                str(tmp_path / "o"), "--model", str(model)])
    out, err = capsys.readouterr()
    one_refusal(err, out, command, words)
    assert status == EXIT_BAD_MODEL and not (tmp_path / "p.csv").exists()


def test_a_class_axis_not_fixed_in_the_graph_is_checked_by_the_warm_up(tmp_path):
    graph = tiny_graph(["batch", 8, 4, 64, 64], "classes")            # gives 5 scores; the metadata names 3
    model = forged_onnx(tmp_path / "dynamic.onnx", {}, graph=graph)
    with pytest.raises(MetadataError, match=r"shape \(1, 5\).*names 3 classes"):
        OnnxClassifier(model, provider="cpu")
    fitting = forged_onnx(tmp_path / "fits.onnx", {"class_names": ["a", "b", "c", "d", "e"]}, graph=graph)
    probs = OnnxClassifier(fitting, provider="cpu").predict(np.zeros((2, 8, 4, 64, 64), np.float32))
    assert probs.shape == (2, 5)


@pytest.mark.parametrize("option, value, bound", [("-num_frames", "300", "at most 256"),
                                                  ("-imgsize", "2000", "at most 1024"), ("-imgsize", "4", "at least 8")])
def test_mer_train_refuses_sizes_its_model_files_could_not_carry(option, value, bound, capsys, monkeypatch):
    """A model trained at a size outside the bounds could never be exported or loaded: refused when parsed."""
    from training import cli as train_cli, run as train_run

    monkeypatch.setattr(train_run, "run", lambda options: pytest.fail(f"{option} {value} was accepted"))
    with pytest.raises(SystemExit) as exit_:
        train_cli.main(["ch3_1_fusion_cnn_like", "/data", "SMIC", option, value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and option in err and bound in err and "Traceback" not in err
