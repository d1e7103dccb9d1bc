"""Hostile or broken model files: forged sizes, forged specs, and metadata that does not fit its graph.

Each file is built here from the shipped demo model (its spec rewritten in the metadata) or written as a
checkpoint by hand. Every command must refuse it in one line with status 6, naming the field and the bound,
before anything is sized by it: ONNX Runtime's session constructor is made to fail, so a test that reaches it
(today's behaviour: the spec was trusted and read later) fails at once instead of allocating gigabytes.
"""
from __future__ import annotations

import json
from pathlib import Path

import onnx
import onnxruntime as ort
import pytest
import torch

from export.cli import main as mer_export
from gui.cli import main as mer_live
from mer_live.checkpoint import CheckpointError, load_checkpoint
from mer_live.cli_errors import EXIT_BAD_MODEL
from mer_live.onnx_metadata import SPEC_KEY, load_model_proto, read_metadata, write_metadata
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
