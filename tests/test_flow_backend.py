"""--flow auto|opencv|torch: which Farneback runs where, and that the choice reaches the engine, the training
cache and the model's spec and metadata."""
from __future__ import annotations

import argparse

import cv2
import numpy as np
import pytest
import torch

from mer_live import flow as flow_module
from mer_live.flow import OPENCV, FlowBackend, choose_flow_backend, clip_flow
from mer_live.spec import ModelSpec, SpecBoundsError
from mer_live.torch_flow import EPE_MEAN_TOLERANCE

TORCH_CPU = FlowBackend("torch", "cpu")


def _moving_frames(n=5, size=48, rgb=True):
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (size, size)).astype(np.uint8), (0, 0), 2.0)
    frames = np.stack([np.roll(base, i, axis=1) for i in range(n)])
    return np.repeat(frames[..., None], 3, axis=-1) if rgb else frames


@pytest.fixture
def torch_flow_calls(monkeypatch):
    """The devices torch_flow was asked to run on, in order (it still computes the flow)."""
    from mer_live import torch_flow

    calls = []
    real = torch_flow.torch_clip_flow

    def recorded(gray, device="cpu", **params):
        calls.append(str(device))
        return real(gray, device, **params)

    monkeypatch.setattr(torch_flow, "torch_clip_flow", recorded)
    return calls


@pytest.mark.parametrize("choice, cuda, expected", [
    ("auto", False, OPENCV), ("auto", True, FlowBackend("torch", "cuda")),
    ("torch", False, TORCH_CPU), ("torch", True, FlowBackend("torch", "cuda")),
    ("opencv", True, OPENCV),
])
def test_auto_is_torch_only_on_a_cuda_gpu(monkeypatch, choice, cuda, expected):
    monkeypatch.setattr(flow_module, "torch_cuda_usable", lambda: cuda)
    assert choose_flow_backend(choice) == expected


def test_unknown_choice_is_one_clear_error():
    with pytest.raises(ValueError, match="choose one of auto, opencv, torch"):
        choose_flow_backend("cuda")


def test_clip_flow_runs_the_chosen_backend(torch_flow_calls):
    frames = _moving_frames()
    ours, reference = clip_flow(frames, backend=TORCH_CPU), clip_flow(frames)
    assert torch_flow_calls == ["cpu"] and ours.shape == reference.shape == (4, 48, 48, 3)
    assert np.abs(ours - reference).max() < 1e-3
    clip_flow(frames)
    assert torch_flow_calls == ["cpu"]


# ---------------------------------------------------------------------------------------------- live engine

def test_engine_config_takes_the_choice_and_refuses_others():
    from mer_live.streaming.engine import EngineConfig

    assert EngineConfig().flow == "auto" and EngineConfig(flow="torch").flow == "torch"
    with pytest.raises(ValueError, match="flow backend 'gpu' is unknown"):
        EngineConfig(flow="gpu")


class _Classifier:
    provider = "fake"
    spec = ModelSpec(model="fake", class_names=("a", "b"), num_frames=4, image_size=(32, 32), feature="GRAY_OF",
                     fps=20.0, clip_seconds=0.25)

    def predict(self, x):
        return np.full((len(x), 2), 0.5, np.float32)


def test_engine_windows_use_the_configured_backend(torch_flow_calls):
    from mer_live.streaming.engine import Engine, EngineConfig
    from mer_live.streaming.window import Window

    engine = Engine(source=None, classifier=_Classifier(), config=EngineConfig(flow="torch", face="full"))
    assert engine.flow_backend == TORCH_CPU
    window = Window(index=0, t_start=0.0, t_end=0.25, frames=_moving_frames(6, 40), captured_at=0.0, box_changes=0)
    prepared, probs, *_ = engine._compute([window])
    assert torch_flow_calls == ["cpu"] and probs.shape == (1, 2)
    assert engine.stats().extra["flow"] == "torch on cpu"
    opencv = Engine(source=None, classifier=_Classifier(), config=EngineConfig(flow="opencv", face="full"))
    reference, *_ = opencv._compute([window])
    assert torch_flow_calls == ["cpu"]
    assert np.abs(prepared[0].features - reference[0].features).max() < 1e-3


def test_mer_live_and_mer_spot_take_flow(monkeypatch):
    from gui import cli as live_cli
    from mer_live.spot_eval import cli as spot_cli

    seen = {}
    monkeypatch.setattr(live_cli, "run_headless", lambda options, config: seen.update(config=config) or 0)
    assert live_cli.main(["--headless", "--demo", "--flow", "torch"]) == 0
    assert seen["config"].flow == "torch"
    assert live_cli.main(["--headless", "--demo"]) == 0 and seen["config"].flow == "auto"
    with pytest.raises(SystemExit) as exit_info:
        live_cli.main(["--headless", "--demo", "--flow", "cuda"])
    assert exit_info.value.code == 2
    args = spot_cli.build_parser().parse_args(["/data", "CASME_SQ", "--flow", "opencv"])
    assert spot_cli.engine_config(args).flow == "opencv"


# ---------------------------------------------------------------------------------------------- training

def test_mer_train_flow_resolves_on_the_training_device(monkeypatch):
    from training import cli as train_cli
    from training.run import flow_backend

    parser = train_cli.build_parser()
    options = train_cli.options_from_args(parser.parse_args(["ch3_1_fusion_cnn", "/data", "SMIC"]), parser)
    assert options.flow == "auto"
    assert flow_backend(options, torch.device("cpu")) == OPENCV
    assert flow_backend(options, torch.device("cuda", 1)) == FlowBackend("torch", "cuda:1")
    options = train_cli.options_from_args(parser.parse_args(["ch3_1_fusion_cnn", "/data", "SMIC", "--flow", "torch"]),
                                          parser)
    assert flow_backend(options, torch.device("cpu")) == TORCH_CPU
    options.flow = "opencv"
    assert flow_backend(options, torch.device("cuda", 0)) == OPENCV


def _frame_files(tmp_path, n=5):
    paths = []
    for i, frame in enumerate(_moving_frames(n, 40)):
        paths.append(tmp_path / f"{i:03d}.png")
        cv2.imwrite(str(paths[-1]), frame)
    return paths


def test_cache_key_and_flow_follow_the_backend(tmp_path, torch_flow_calls):
    from training.cache import ClipCache

    paths = _frame_files(tmp_path)
    opencv = ClipCache(4, (32, 32), "linear", "GRAY_OF", tmp_path / "cache")
    ours = ClipCache(4, (32, 32), "linear", "GRAY_OF", tmp_path / "cache", flow_backend=TORCH_CPU)
    assert opencv.key(paths) != ours.key(paths)
    rgb = [ClipCache(4, (32, 32), "linear", "RGB", flow_backend=b) for b in (OPENCV, TORCH_CPU)]
    assert rgb[0].key(paths) == rgb[1].key(paths)          # no flow taken: the backend changes nothing
    reference = opencv.get(paths).flow
    assert torch_flow_calls == []
    clip = ours.get(paths)
    assert torch_flow_calls == ["cpu"]
    epe = np.hypot(*(clip.flow[..., 1:] - reference[..., 1:]).transpose(3, 0, 1, 2))
    assert epe.mean() <= EPE_MEAN_TOLERANCE
    assert ours.get(paths) is not None and torch_flow_calls == ["cpu"]    # the second time from disk


def test_a_loader_worker_computes_torch_flow_on_the_cpu(monkeypatch):
    """A forked data-loader worker cannot start CUDA: it takes the same flow on the CPU."""
    import torch.utils.data

    from training.cache import ClipCache

    cache = ClipCache(4, (32, 32), "linear", "GRAY_OF", flow_backend=FlowBackend("torch", "cuda:0"))
    assert cache._flow_here() == FlowBackend("torch", "cuda:0")
    monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda: object())
    assert cache._flow_here() == TORCH_CPU


# ---------------------------------------------------------------------------------------------- spec and metadata

def test_spec_records_the_backend_and_older_specs_mean_opencv():
    spec = ModelSpec(model="m", class_names=("a", "b"), flow_backend="torch")
    assert ModelSpec.from_json(spec.to_json()).flow_backend == "torch"
    older = {k: v for k, v in spec.to_dict().items() if k != "flow_backend"}
    older["spec_version"] = 1
    assert ModelSpec.from_dict(older).flow_backend == "opencv"
    with pytest.raises(SpecBoundsError, match="flow_backend 'cuda' is not one of opencv, torch"):
        ModelSpec.from_dict({**spec.to_dict(), "flow_backend": "cuda"})


def test_training_spec_and_onnx_metadata_carry_the_backend():
    from mer_live.onnx_metadata import spec_from_props, spec_metadata
    from training.run import model_spec

    index = argparse.Namespace(class_names=["a", "b"], clips=[argparse.Namespace(fps=30.0, frames=[0] * 15)])
    options = argparse.Namespace(model="ch3_1_fusion_cnn", num_frames=4, image_size=(32, 32), feature="GRAY_OF",
                                 interpolation="linear", variant="nano", dataset="SMIC")
    spec = model_spec(options, index, TORCH_CPU)
    assert spec.flow_backend == "torch" and model_spec(options, index).flow_backend == "opencv"
    props = spec_metadata(spec)
    assert props["mer_live.flow_backend"] == "torch"
    assert spec_from_props(props).flow_backend == "torch"
