"""What the window asks to run (source + model) and how that becomes a running engine.

The window gets an `engine_factory(choice, model_path, listener)` so tests can hand it a fake engine;
`build_engine` is the real one, built from mer_live.streaming (imported lazily: the window opens even
before a model is chosen).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from mer_live.streaming.events import EngineStats, StatusMessage
from mer_live.streaming.protocols import EngineListener

if TYPE_CHECKING:
    from mer_live.streaming.engine import EngineConfig


@dataclass(frozen=True)
class SourceChoice:
    """`camera` (value: index), `file` (value: video file or folder of frames) or `demo` (synthetic stream)."""

    kind: str
    value: Any = None

    @classmethod
    def parse(cls, text: str | int | None) -> "SourceChoice":
        """`--source` text: a camera index, `synthetic`/`demo`, or a path."""
        if text is None:
            return cls("demo")
        text = str(text).strip()
        if text.isdigit():
            return cls("camera", int(text))
        if text.lower() in ("synthetic", "demo"):
            return cls("demo")
        return cls("file", text)

    def source_argument(self) -> str:
        """The `--source` text to open (`mer_live.streaming.source_argument.open_source`): a camera index, a
        path or "synthetic"."""
        if self.kind == "camera":
            return str(int(self.value))
        if self.kind == "file":
            return str(self.value)
        return "synthetic"

    def describe(self) -> str:
        if self.kind == "camera":
            return f"camera {int(self.value)}"
        if self.kind == "file":
            return Path(str(self.value)).name
        return "demo (synthetic stream)"


class EngineLike(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def join(self, timeout: float | None = None) -> None: ...
    def stats(self) -> EngineStats: ...


EngineFactory = Callable[[SourceChoice, "str | None", EngineListener], EngineLike]


def demo_model_path() -> Path:
    from mer_live.streaming.demo import demo_model_path as _demo_model_path

    return Path(_demo_model_path())


_detector_lock = threading.Lock()
_shared_detector = None


def shared_face_detector():
    """One MTCNN per process, reused by every run: loading it (torch + weights) takes seconds, and inside the
    engine's detection thread that would leave the first seconds of every run without a face box."""
    global _shared_detector
    with _detector_lock:
        if _shared_detector is None:
            from mer_live.streaming.detection import load_detector

            _shared_detector = load_detector()      # on one torch thread, as the engine's own
        return _shared_detector


def prewarm_face_detector() -> threading.Thread:
    """Load the shared detector in the background while the user picks a source."""
    thread = threading.Thread(target=shared_face_detector, name="mer-gui-prewarm", daemon=True)
    thread.start()
    return thread


def build_engine(choice: SourceChoice, model_path: str | None, listener: EngineListener,
                 config: "EngineConfig | None" = None, provider: str = "auto", fps: float | None = None) -> EngineLike:
    """The real engine: ONNX classifier + source paced in real time for display, with the shared face
    detector already loaded. Slow (seconds): the window calls it on a helper thread.

    `config` holds the engine's settings (None: its defaults); `provider` is the ONNX Runtime provider and
    `fps` the frame rate of a folder of frames.
    """
    from mer_live.runtime import OnnxClassifier
    from mer_live.streaming import demo as demo_module
    from mer_live.streaming.engine import Engine, EngineConfig
    from mer_live.streaming.source_argument import open_source, use_model_rate

    if not model_path:
        if choice.kind != "demo":
            raise ValueError("no model chosen: pick an exported .onnx model (Model… button or --model), "
                             "or choose the Demo source, which brings its own demo model")
        model_path = str(demo_module.demo_model_path())
    if not Path(model_path).is_file():
        raise FileNotFoundError(f"model {model_path} does not exist; pick an exported .onnx file "
                                f"(mer-export writes one)")
    classifier = OnnxClassifier(model_path, provider=provider, batch_size=1)
    if choice.kind == "demo":
        source = demo_module.demo_source(realtime=True)
    else:
        source = open_source(choice.source_argument(), realtime=True, fps=fps)
        rate_note = use_model_rate(source, classifier.spec, fps)
        if rate_note:
            listener.on_status(StatusMessage("info", rate_note))
    config = config or EngineConfig()
    detector = shared_face_detector() if config.face == "detect" else None
    return Engine(source, classifier, config, listener, detector=detector)
