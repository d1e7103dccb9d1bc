"""mer_live.runtime: provider choice (TensorRT > CUDA > CPU, only what works), quiet CPU fallback, metadata."""
from __future__ import annotations

import logging

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from mer_live import runtime
from mer_live.checkpoint import Checkpoint, save_checkpoint
from mer_live.models import create_model
from mer_live.onnx_metadata import REQUIRED_KEYS, MetadataError, ModelFileError, read_metadata
from mer_live.runtime import CPU, CUDA, TENSORRT, OnnxClassifier, choose_providers
from mer_live.spec import ModelSpec

ALL = [TENSORRT, CUDA, CPU]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small exported model and its PyTorch original."""
    from export.onnx_export import export_checkpoint

    folder = tmp_path_factory.mktemp("runtime")
    spec = ModelSpec(model="ch1_resnext", class_names=("ne", "po", "sur"), num_frames=4, image_size=(32, 32),
                     feature="GRAY", variant="nano", dataset="SMIC")
    torch.manual_seed(0)
    net = create_model(spec.model, 3, num_frames=4, image_size=32, variant="nano").eval()
    save_checkpoint(folder / "model.pt", Checkpoint(spec, net.state_dict(), {}))
    result = export_checkpoint(folder / "model.pt", report=lambda _: None)
    return result.output, spec, net


@pytest.fixture(autouse=True)
def fresh_notices(monkeypatch):
    monkeypatch.setattr(runtime, "_notices_given", set())


# ---------------------------------------------------------------------------------- provider choice

def test_auto_order_is_tensorrt_cuda_cpu_when_all_work():
    assert choose_providers(None, ALL, gpu_count=1, tensorrt_ok=True) == (ALL, None)
    assert choose_providers("auto", ALL, gpu_count=2, tensorrt_ok=True) == (ALL, None)


def test_auto_skips_tensorrt_without_its_libraries():
    assert choose_providers("auto", ALL, gpu_count=1, tensorrt_ok=False) == ([CUDA, CPU], None)


def test_auto_without_gpu_is_cpu_with_one_reason():
    providers, notice = choose_providers(None, ALL, gpu_count=0, tensorrt_ok=True)
    assert providers == [CPU]
    assert "no CUDA GPU" in notice and "CPU provider" in notice and "\n" not in notice


def test_auto_with_cpu_only_onnxruntime_says_which_package():
    providers, notice = choose_providers(None, [CPU], gpu_count=1, tensorrt_ok=True)
    assert providers == [CPU] and "onnxruntime-gpu" in notice


def test_override_is_honoured_or_refused_with_the_reason():
    assert choose_providers("cpu", ALL, gpu_count=1, tensorrt_ok=True) == ([CPU], None)
    assert choose_providers("cuda", ALL, gpu_count=1, tensorrt_ok=True) == ([CUDA, CPU], None)
    assert choose_providers("TensorRT", ALL, gpu_count=1, tensorrt_ok=True) == ([TENSORRT, CPU], None)
    with pytest.raises(RuntimeError, match="'cuda' cannot run here: no CUDA GPU"):
        choose_providers("cuda", ALL, gpu_count=0, tensorrt_ok=True)
    with pytest.raises(RuntimeError, match="libnvinfer"):
        choose_providers("tensorrt", ALL, gpu_count=1, tensorrt_ok=False)
    with pytest.raises(ValueError, match="unknown provider 'rocm'"):
        choose_providers("rocm", ALL, gpu_count=1, tensorrt_ok=True)


def test_cuda_probe_does_not_crash_and_counts():
    assert isinstance(runtime.cuda_device_count(), int) and runtime.cuda_device_count() >= 0


# ---------------------------------------------------------------------------------- the wrapper

def test_without_cuda_falls_back_to_cpu_with_one_quiet_notice(exported, monkeypatch, caplog, capfd):
    path, spec, _ = exported
    monkeypatch.setattr(runtime, "cuda_device_count", lambda: 0)  # what this machine has anyway
    with caplog.at_level(logging.WARNING, logger="mer_live.runtime"):
        first = OnnxClassifier(path)
        second = OnnxClassifier(path, provider="auto")
    assert first.provider == second.provider == CPU
    notices = [r.getMessage() for r in caplog.records if r.name == "mer_live.runtime"]
    assert len(notices) == 1 and "no CUDA GPU" in notices[0]  # one line, once per process
    err = capfd.readouterr().err
    assert "CUDA" not in err and "[E:onnxruntime" not in err  # no wall of onnxruntime errors


class _RecordingSession:
    """Stands in for ort.InferenceSession: records what was asked, runs on CPU, reports `running`."""

    asked: list[list[str]] = []
    running: list[str] | None = None

    def __init__(self, path, sess_options=None, providers=None, provider_options=None):
        _RecordingSession.asked.append(list(providers))
        self._session = _REAL_SESSION(path, sess_options=sess_options, providers=[CPU])

    def get_providers(self):
        return self.running or self.asked[-1]

    def __getattr__(self, name):
        return getattr(self._session, name)


_REAL_SESSION = ort.InferenceSession


def test_gpu_machine_asks_for_tensorrt_then_cuda_and_preloads_dlls(exported, monkeypatch, tmp_path):
    path, _, _ = exported
    preloaded = []
    monkeypatch.setattr(runtime, "cuda_device_count", lambda: 1)
    monkeypatch.setattr(runtime, "tensorrt_loadable", lambda: True)
    monkeypatch.setattr(ort, "get_available_providers", lambda: list(ALL))
    monkeypatch.setattr(ort, "preload_dlls", lambda *a, **k: preloaded.append(True), raising=False)
    monkeypatch.setattr(ort, "InferenceSession", _RecordingSession)
    monkeypatch.setenv("MER_LIVE_TRT_CACHE", str(tmp_path / "trt"))
    _RecordingSession.asked, _RecordingSession.running = [], None
    classifier = OnnxClassifier(path, warmup=False)
    assert _RecordingSession.asked[-1] == ALL and classifier.provider == TENSORRT and preloaded
    assert (tmp_path / "trt").is_dir()  # TensorRT engines are cached between runs
    classifier = OnnxClassifier(path, provider="cpu", warmup=False)
    assert _RecordingSession.asked[-1] == [CPU] and classifier.provider == CPU


def test_onnxruntime_falling_back_is_reported_or_refused(exported, monkeypatch, caplog):
    path, _, _ = exported
    monkeypatch.setattr(runtime, "cuda_device_count", lambda: 1)
    monkeypatch.setattr(runtime, "tensorrt_loadable", lambda: False)
    monkeypatch.setattr(ort, "get_available_providers", lambda: list(ALL))
    monkeypatch.setattr(ort, "preload_dlls", lambda *a, **k: None, raising=False)
    monkeypatch.setattr(ort, "InferenceSession", _RecordingSession)
    _RecordingSession.asked, _RecordingSession.running = [], [CPU]  # e.g. cuDNN missing: ORT drops CUDA
    with caplog.at_level(logging.WARNING, logger="mer_live.runtime"):
        classifier = OnnxClassifier(path, warmup=False)
    assert classifier.provider == CPU
    assert any("could not start CUDAExecutionProvider" in r.getMessage() for r in caplog.records)
    with pytest.raises(RuntimeError, match="could not start CUDAExecutionProvider"):
        OnnxClassifier(path, provider="cuda", warmup=False)


def test_predict_gives_pytorch_probabilities(exported):
    path, spec, net = exported
    classifier = OnnxClassifier(path, provider="cpu")
    assert classifier.spec == spec and classifier.input_shape == (4, 1, 32, 32)
    x = np.random.default_rng(0).standard_normal((3, 4, 1, 32, 32)).astype(np.float64)  # any float dtype is cast
    probs = classifier.predict(x)
    assert probs.shape == (3, 3) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    with torch.no_grad():
        expected = torch.softmax(net(torch.from_numpy(x).float()), dim=-1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_session_threads_do_not_spin(exported):
    """ONNX Runtime's idle threads spin by default, taking CPU from the engine's capture, detection and
    spotting on the same cores: the session is built with spinning off."""
    path, _, _ = exported
    options = OnnxClassifier(path, provider="cpu").session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_batch_fixed_at_load_gives_the_same_probabilities_and_refuses_other_batches(exported):
    path, _, _ = exported
    x = np.random.default_rng(1).standard_normal((1, 4, 1, 32, 32)).astype(np.float32)
    dynamic = OnnxClassifier(path, provider="cpu")
    fixed = OnnxClassifier(path, provider="cpu", batch_size=1)
    assert fixed.session.get_inputs()[0].shape[0] == 1 and dynamic.session.get_inputs()[0].shape[0] == "batch"
    np.testing.assert_allclose(fixed.predict(x), dynamic.predict(x), atol=1e-6)
    with pytest.raises(ValueError, match="fixed batch of 1"):
        fixed.predict(np.concatenate([x, x]))


def test_predict_names_the_expected_shape(exported):
    classifier = OnnxClassifier(exported[0], provider="cpu")
    with pytest.raises(ValueError, match=r"add a batch axis"):
        classifier.predict(np.zeros((4, 1, 32, 32), np.float32))
    with pytest.raises(ValueError, match=r"\(B, 4, 1, 32, 32\).*GRAY"):
        classifier.predict(np.zeros((1, 4, 3, 32, 32), np.float32))


# ---------------------------------------------------------------------------------- metadata

def _onnx_without_metadata(path):
    node = helper.make_node("Identity", ["clip"], ["probs"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("clip", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    model.metadata_props.add(key="author", value="someone else")
    onnx.save(model, str(path))


def test_read_metadata_round_trips(exported):
    path, spec, _ = exported
    assert read_metadata(path) == spec


def test_onnx_without_our_metadata_names_the_missing_keys(tmp_path):
    _onnx_without_metadata(tmp_path / "foreign.onnx")
    with pytest.raises(MetadataError) as info:
        read_metadata(tmp_path / "foreign.onnx")
    message = str(info.value)
    assert all(key in message for key in REQUIRED_KEYS) and "mer-export" in message
    with pytest.raises(MetadataError, match="mer_live.spec"):
        OnnxClassifier(tmp_path / "foreign.onnx", provider="cpu")


def test_broken_spec_json_is_a_metadata_error(exported, tmp_path):
    model = onnx.load(str(exported[0]))
    for prop in model.metadata_props:
        if prop.key == "mer_live.spec":
            prop.value = "{not json"
    onnx.save(model, str(tmp_path / "broken.onnx"))
    with pytest.raises(MetadataError, match="not a valid model spec"):
        read_metadata(tmp_path / "broken.onnx")


def test_missing_or_non_onnx_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="mer-export"):
        OnnxClassifier(tmp_path / "none.onnx")
    with pytest.raises(FileNotFoundError):
        read_metadata(tmp_path / "none.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\xff\xfe not a protobuf at all \x00\x01")
    with pytest.raises(ModelFileError, match="junk.onnx is not an ONNX model"):
        read_metadata(tmp_path / "junk.onnx")
    for batch_size in (None, 1):    # the live app's batch_size=1 gave protobuf's DecodeError under a traceback
        with pytest.raises(ModelFileError, match="junk.onnx is not an ONNX model.*mer-export"):
            OnnxClassifier(tmp_path / "junk.onnx", provider="cpu", batch_size=batch_size)
