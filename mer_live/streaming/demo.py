"""The demo: a synthetic stream and a small model trained on synthetic motions, for a fresh install.

No camera, no dataset, no network: `demo_source()` renders a still face (mer_live.synthetic.stream.make_stream)
with micro-motions of SMIC's three classes at known times, and `demo_model_path()` is the shipped
mer_live/assets/demo_model.onnx (a nano late-fusion model, rebuilt by scripts/build_demo_model.py from
synthetic streams of OTHER seeds than the demo stream's). The demo model knows only these synthetic motions.
"""
from __future__ import annotations

from pathlib import Path

from mer_live.streaming.sources import ArraySource

DEMO_NOTE = ("DEMO: the demo model was trained only on synthetic motions (a still photo with painted-on "
             "brow/mouth movements); it knows nothing about real faces. For real use train a model on SMIC, "
             "CASME II or SAMM with mer-train and export it with mer-export.")

DEMO_FPS = 30.0
DEMO_SEED = 0                       # the demo stream's look; the demo model is trained on other seeds
DEMO_EVENT_S = 0.4
# (start in seconds, SMIC class): every class twice, in a different order each round
DEMO_EVENTS: tuple[tuple[float, str], ...] = ((2.0, "po"), (3.5, "sur"), (5.0, "ne"),
                                              (6.5, "sur"), (8.0, "ne"), (9.5, "po"))
DEMO_DURATION_S = 11.0

ASSET = Path(__file__).resolve().parent.parent / "assets" / "demo_model.onnx"


class DemoModelMissing(FileNotFoundError):
    pass


def demo_model_path() -> Path:
    """The shipped demo model; a clear error with the fix if the install lacks it."""
    if not ASSET.is_file():
        raise DemoModelMissing(f"the demo model {ASSET} is missing from this install; rebuild it with "
                               f"`python scripts/build_demo_model.py` (about a few minutes on a CPU) or reinstall "
                               f"mer-live")
    return ASSET


def demo_source(realtime: bool = False, seed: int = DEMO_SEED, events=DEMO_EVENTS,
                duration_s: float = DEMO_DURATION_S, fps: float = DEMO_FPS) -> ArraySource:
    """The synthetic demo stream; `.truth` holds make_stream's StreamEvents, `.truth_events` (start, end, label)."""
    from mer_live.synthetic.stream import make_stream

    frames, truth = make_stream(events=events, duration_s=duration_s, fps=fps, seed=seed, event_s=DEMO_EVENT_S)
    source = ArraySource(frames, fps=fps, realtime=realtime, name="demo stream (synthetic)")
    source.truth = truth
    source.truth_events = [(e.start_s, e.end_s, e.label_name) for e in truth]
    return source
