"""mer-export: every model family exports, verifies against PyTorch and describes itself; bad input fails clearly."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from export import onnx_export
from export.cli import main
from export.onnx_export import ExportError, export_checkpoint
from export.verify import FP16_PROBS_TOLERANCE
from mer_live.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from mer_live.cli_errors import EXIT_BAD_MODEL, EXIT_CANNOT_WRITE, EXIT_USAGE
from mer_live.models import create_model
from mer_live.onnx_metadata import REQUIRED_KEYS, SPEC_KEY, read_metadata
from mer_live.runtime import OnnxClassifier
from mer_live.spec import ModelSpec

FRAMES, SIZE = 4, (32, 32)
CLASSES = ("negative", "positive", "surprise")


def make_checkpoint(path: Path, model: str, feature: str, seed: int = 0) -> tuple[ModelSpec, torch.nn.Module]:
    spec = ModelSpec(model=model, class_names=CLASSES, num_frames=FRAMES, image_size=SIZE, feature=feature,
                     interpolation="linear", variant="nano", fps=200.0, clip_seconds=0.3, dataset="CDE")
    torch.manual_seed(seed)
    net = create_model(model, len(CLASSES), num_frames=FRAMES, image_size=SIZE, variant="nano").eval()
    save_checkpoint(path, Checkpoint(spec, net.state_dict(), {"epoch": 1}))
    return spec, net


def quiet(_message: str) -> None:
    pass


# every fusion model (flow + gray, flow + RGB; all three kinds) and each single-stream backbone
MODELS = [
    ("ch3_1_fusion_cnn_like", "GRAY_OF"),
    ("ch3_1_fusion_cnn", "GRAY_OF"),
    ("ch3_1_fusion_transformer", "GRAY_OF"),
    ("ch3_3_fusion_cnn_like", "RGB_OF"),
    ("ch3_3_fusion_cnn", "RGB_OF"),
    ("ch3_3_fusion_transformer", "RGB_OF"),
    ("ch4_swin", "GRAY_OF"),
    ("ch3_timesformer", "ONLY_OF"),
    ("ch1_resnext", "GRAY"),
]


@pytest.mark.parametrize("model,feature", MODELS)
def test_every_family_exports_verifies_and_describes_itself(tmp_path, model, feature):
    spec, net = make_checkpoint(tmp_path / "model.pt", model, feature)
    result = export_checkpoint(tmp_path / "model.pt", report=quiet)

    assert result.output == tmp_path / "model.onnx" and result.output.is_file()
    assert result.verification.passed and result.verification.max_abs_logits <= 1e-4
    agree, total = result.verification.top1_agreement
    assert agree == total == 3  # random batch of 2 and a synthetic clip: two batch sizes (dynamic axis)
    assert read_metadata(result.output) == spec

    # the runtime wrapper needs nothing but the file and gives PyTorch's probabilities
    classifier = OnnxClassifier(result.output, provider="cpu")
    assert classifier.spec == spec
    x = np.random.default_rng(3).standard_normal((2, *classifier.input_shape), dtype=np.float32)
    with torch.no_grad():
        expected = torch.softmax(net(torch.from_numpy(x)), dim=-1).numpy()
    np.testing.assert_allclose(classifier.predict(x), expected, atol=1e-5)


def test_metadata_is_human_readable(tmp_path):
    spec, _ = make_checkpoint(tmp_path / "model.pt", "ch1_resnext", "GRAY")
    out = export_checkpoint(tmp_path / "model.pt", tmp_path / "out" / "m.onnx", report=quiet).output
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert set(REQUIRED_KEYS) <= set(props)
    assert ModelSpec.from_json(props[SPEC_KEY]) == spec
    assert props["mer_live.model"] == "ch1_resnext"
    assert json.loads(props["mer_live.class_names"]) == list(CLASSES)
    assert props["mer_live.num_frames"] == "4" and props["mer_live.image_size"] == "32x32"
    assert props["mer_live.feature"] == "GRAY" and props["mer_live.interpolation"] == "linear"
    assert float(props["mer_live.fps"]) == 200.0 and float(props["mer_live.clip_seconds"]) == 0.3
    assert json.loads(props["mer_live.flow_params"]) == spec.flow_params
    assert props["mer_live.input_layout"] == "B,T,C,H,W"
    assert props["mer_live.version"]


def test_cli_exports_the_live_model_next_to_its_checkpoint(tmp_path, capsys):
    make_checkpoint(tmp_path / "model.pt", "ch3_1_fusion_cnn_like", "GRAY_OF")
    assert main([str(tmp_path / "model.pt")]) == 0
    out = capsys.readouterr().out
    assert "top-1 agreement 3/3" in out and "PASS" in out and "max |Δ logits|" in out
    assert read_metadata(tmp_path / "model.onnx").model == "ch3_1_fusion_cnn_like"
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "model.onnx")).metadata_props}
    assert props["mer_live.exporter"] == "legacy"  # the default (auto) exporter, see export.onnx_export.to_onnx


def test_exporter_fallback_to_torch_export_is_reported_not_silent(tmp_path, monkeypatch, build_paths):
    # also proves the torch.export (dynamo=True) path exports and verifies a late-fusion model with a dynamic
    # batch axis: the shipped demo model's design (ResNeXt streams), which torch.export traces about 3x faster
    # than the Swin streams of ch3_1_fusion_cnn_like (measured in CPU seconds); the fallback is the same code.
    # Its per-node stack traces (absolute source paths) are stripped.
    spec, _ = make_checkpoint(tmp_path / "model.pt", "ch3_1_fusion_cnn", "GRAY_OF")

    def broken_torchscript(*args, **kwargs):
        raise RuntimeError("unsupported operator aten::magic")

    monkeypatch.setattr(onnx_export, "_export_legacy", broken_torchscript)
    messages: list[str] = []
    result = export_checkpoint(tmp_path / "model.pt", report=messages.append)
    assert result.exporter == "dynamo" and "aten::magic" in result.fallback_reason
    assert any("WARNING" in m and "aten::magic" in m and "dynamo=True" in m for m in messages)
    assert result.verification.passed and read_metadata(result.output) == spec
    assert build_paths(result.output.read_bytes()) == []
    assert not any(node.metadata_props or node.doc_string for node in onnx.load(str(result.output)).graph.node)
    with pytest.raises(ExportError, match="aten::magic"):  # a forced exporter never falls back
        export_checkpoint(tmp_path / "model.pt", tmp_path / "forced.onnx", exporter="legacy", report=quiet)
    assert not (tmp_path / "forced.onnx").exists()


def test_strip_source_info_reaches_nodes_subgraphs_and_doc_strings(build_paths):
    from onnx import helper

    trace = "File \"/home/me/site-packages/torch/nn/modules/linear.py\", line 1"
    inner = helper.make_node("Identity", ["x"], ["y"], doc_string=trace)
    inner.metadata_props.add(key="pkg.torch.onnx.stack_trace", value=trace)
    branch = helper.make_graph([inner], "branch", [], [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    outer = helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch, doc_string=trace)
    outer.metadata_props.add(key="namespace", value=trace)
    graph = helper.make_graph([outer], "g", [helper.make_tensor_value_info("c", onnx.TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])], doc_string=trace)
    model = helper.make_model(graph, doc_string=trace)
    model.metadata_props.add(key="mer_live.model", value="kept")
    assert build_paths(model.SerializeToString()) == ["/home/", "site-packages"]
    onnx_export.strip_source_info(model)
    assert build_paths(model.SerializeToString()) == []
    assert [(p.key, p.value) for p in model.metadata_props] == [("mer_live.model", "kept")]


def test_fp16_export_is_within_stated_tolerance(tmp_path):
    spec, net = make_checkpoint(tmp_path / "model.pt", "ch3_1_fusion_cnn_like", "GRAY_OF")
    result = export_checkpoint(tmp_path / "model.pt", fp16=True, report=quiet)
    assert result.output.name == "model.fp16.onnx" and result.precision == "fp16"
    assert result.verification.tolerance == FP16_PROBS_TOLERANCE == 2e-2
    assert result.verification.passed and result.verification.max_abs_probs <= 2e-2
    graph = onnx.load(str(result.output)).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT16
    assert any(init.data_type == onnx.TensorProto.FLOAT16 for init in graph.initializer)
    classifier = OnnxClassifier(result.output, provider="cpu")
    x = np.random.default_rng(4).standard_normal((1, *classifier.input_shape), dtype=np.float32)
    probs = classifier.predict(x)  # float32 in: the wrapper casts to the model's fp16 input
    assert probs.dtype == np.float32
    with torch.no_grad():
        expected = torch.softmax(net(torch.from_numpy(x)), dim=-1).numpy()
    np.testing.assert_allclose(probs, expected, atol=2e-2)


def test_export_that_disagrees_with_pytorch_fails_and_leaves_no_file(tmp_path, monkeypatch, capsys):
    make_checkpoint(tmp_path / "model.pt", "ch1_resnext", "GRAY")
    real_to_onnx = onnx_export.to_onnx

    def wrong_head_bias(*args, **kwargs):  # an exporter bug: the classifier's bias comes out shifted
        proto, used, reason = real_to_onnx(*args, **kwargs)
        bias = next(i for i in proto.graph.initializer if i.name.endswith("head.bias"))
        bias.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(bias) + np.float32([0.5, 0, 0]), bias.name))
        return proto, used, reason

    monkeypatch.setattr(onnx_export, "to_onnx", wrong_head_bias)
    assert main([str(tmp_path / "model.pt")]) == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "disagrees with PyTorch" in captured.err and "= 0.5 > tolerance 0.0001" in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]  # no output, no temporary file


def test_static_batch_fixes_the_batch_axis(tmp_path):
    make_checkpoint(tmp_path / "model.pt", "ch1_resnext", "GRAY")
    result = export_checkpoint(tmp_path / "model.pt", dynamic_batch=False, report=quiet)
    dims = onnx.load(str(result.output)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, FRAMES, 1, *SIZE]
    assert [c.batch for c in result.verification.checks] == [1, 1]
    classifier = OnnxClassifier(result.output, provider="cpu")
    with pytest.raises(ValueError, match="fixed batch of 1"):
        classifier.predict(np.zeros((2, FRAMES, 1, *SIZE), np.float32))


def test_run_folder_exports_every_fold_with_a_summary(tmp_path, capsys):
    run = tmp_path / "run"
    for sub in ("folds/s01", "folds/s02", "final"):
        make_checkpoint(run / sub / "model.pt", "ch1_resnext", "GRAY")
    assert main([str(run)]) == 0
    for sub in ("folds/s01", "folds/s02", "final"):
        assert (run / sub / "model.onnx").is_file()
    out = capsys.readouterr().out
    table = out[out.index("checkpoint  "):]
    assert all(f"{run / sub / 'model.pt'}" in table for sub in ("folds/s01", "folds/s02", "final"))
    assert table.count(" ok") >= 3 and "|Δ logits|" in table


def test_run_folder_refuses_one_output_and_empty_folders(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 2
    assert "folds/*/model.pt" in capsys.readouterr().err
    assert main([str(tmp_path / "empty"), "-o", str(tmp_path / "x.onnx")]) == 2
    assert "run folder" in capsys.readouterr().err


def test_missing_checkpoint(tmp_path, capsys):
    assert main([str(tmp_path / "nope.pt")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "checkpoint not found" in err and "nope.pt" in err
    assert not (tmp_path / "nope.onnx").exists()


def test_corrupt_checkpoint(tmp_path, capsys):
    (tmp_path / "model.pt").write_bytes(b"\x80\x02 definitely not a checkpoint")
    assert main([str(tmp_path / "model.pt")]) == EXIT_BAD_MODEL
    assert "cannot read checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "model.onnx").exists()


def test_checkpoint_of_unknown_model(tmp_path, capsys):
    spec = ModelSpec(model="ch9_hypernet", class_names=CLASSES, num_frames=FRAMES, image_size=SIZE, variant="nano")
    save_checkpoint(tmp_path / "model.pt", Checkpoint(spec, {"w": torch.zeros(1)}, {}))
    assert main([str(tmp_path / "model.pt")]) == 1
    err = capsys.readouterr().err
    assert "unknown model 'ch9_hypernet'" in err and "ch3_1_fusion_cnn_like" in err
    with pytest.raises(ExportError, match="unknown model"):
        export_checkpoint(tmp_path / "model.pt", report=quiet)


@pytest.mark.parametrize("weights", ["another model's", "one layer resized", "not a dict"])
def test_weights_that_do_not_fit_the_spec_are_a_bad_model_file(weights, tmp_path, capsys):
    """Status 6 (a model file that cannot be used) and one line naming the misfit, not 1 with a traceback."""
    spec, _ = make_checkpoint(tmp_path / "a.pt", "ch1_resnext", "GRAY")
    own = dict(load_checkpoint(tmp_path / "a.pt").state_dict)
    if weights == "another model's":
        state = create_model("ch1_swin", len(CLASSES), num_frames=FRAMES, image_size=SIZE, variant="nano").state_dict()
    elif weights == "one layer resized":
        key = next(k for k, v in own.items() if v.ndim == 2)
        state = own | {key: torch.zeros(own[key].shape[0] + 1, own[key].shape[1])}
    else:
        state = own
    save_checkpoint(tmp_path / "model.pt", Checkpoint(spec, state, {}))
    if weights == "not a dict":                                    # a forged file: save_checkpoint never writes one
        payload = torch.load(tmp_path / "model.pt", weights_only=True)
        torch.save(payload | {"state_dict": list(own.values())}, tmp_path / "model.pt")
    assert main([str(tmp_path / "model.pt")]) == EXIT_BAD_MODEL
    err = capsys.readouterr().err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"mer-export: error: {tmp_path / 'model.pt'}: weights do not fit ch1_resnext")
    assert "spec and weights disagree" in line and "Error(s) in loading" not in line and len(line) < 400
    assert not (tmp_path / "model.onnx").exists()


def test_unwritable_output_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    make_checkpoint(tmp_path / "model.pt", "ch1_resnext", "GRAY")
    (tmp_path / "a_file").write_text("x")

    def must_not_load(*args, **kwargs):
        raise AssertionError("the checkpoint was loaded before the output was checked")

    monkeypatch.setattr(onnx_export, "load_checkpoint", must_not_load)
    assert main([str(tmp_path / "model.pt"), "-o", str(tmp_path / "a_file" / "model.onnx")]) == EXIT_CANNOT_WRITE
    assert "a_file is a file, not a folder" in capsys.readouterr().err
    (tmp_path / "a_dir").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        export_checkpoint(tmp_path / "model.pt", tmp_path / "a_dir", report=quiet)


def test_checkpoint_errors_are_the_checkpoint_modules(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        export_checkpoint(tmp_path / "missing.pt", report=quiet)


@pytest.mark.parametrize("options", [["--opset", "999"], ["--opset", "1"], ["--opset", "22", "--exporter", "legacy"]])
def test_opset_outside_the_installed_exporter_is_refused_when_parsed(tmp_path, capsys, options):
    """`--opset 999` exited 0 after a traceback and wrote opset 18 (issue 22)."""
    make_checkpoint(tmp_path / "model.pt", "ch1_resnext", "GRAY")
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "model.pt"), *options])
    err = capsys.readouterr().err
    assert stop.value.code == EXIT_USAGE and "--opset" in err and "Traceback" not in err
    assert len(err.strip().splitlines()[-1]) and not (tmp_path / "model.onnx").exists()
    assert [line for line in err.splitlines() if line.startswith("mer-export: error")][0].count(options[1]) == 1


class _Evil:
    def __reduce__(self):
        return (print, ("executed",))


def test_debug_traceback_of_an_untrusted_checkpoint_never_advises_weights_only_false(tmp_path, capsys):
    """`mer-export evil.pt --debug` printed PyTorch's advice to retry with weights_only=False (issue 22)."""
    torch.save({"format": "mer-live-checkpoint", "x": _Evil()}, tmp_path / "evil.pt")
    assert main([str(tmp_path / "evil.pt"), "--debug"]) == EXIT_BAD_MODEL
    captured = capsys.readouterr()
    text = captured.err + captured.out
    assert "Traceback" in text and "cannot read checkpoint" in text and "executed" not in captured.out
    lowered = text.lower()
    for advice in ("weights_only=false", "set to `false`", "safe_globals", "trust the source", "allowlist"):
        assert advice not in lowered, advice
