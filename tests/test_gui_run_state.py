"""The window's run states and their rules, and the CSV recording's write-error rule (no display needed)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from gui.recording import Recording  # noqa: E402
from gui.run_controller import RunController, RunState  # noqa: E402
from mer_live.streaming.events import WindowResult  # noqa: E402

I, S, R, T = RunState.IDLE, RunState.STARTING, RunState.RUNNING, RunState.STOPPING
ALLOWED = {(I, S), (S, R), (S, I), (R, T), (R, I), (T, I)}


def test_run_states_change_only_along_the_run():
    for old in RunState:
        for new in RunState:
            assert old.can_become(new) == ((old, new) in ALLOWED), (old, new)


def test_only_idle_edits_and_only_running_stops():
    assert [s for s in RunState if s.editable] == [I]
    assert [s for s in RunState if s.stoppable] == [R]
    assert I == "idle" and T == "stopping"      # read as the strings the window used before the Enum


def test_controller_refuses_steps_out_of_order(qtbot):
    controller = RunController(engine_factory=lambda *a: pytest.fail("nothing may be built"))
    with pytest.raises(RuntimeError, match="no built engine"):
        controller.launch()                     # launch before any build
    controller.stop()                           # stop while idle: nothing happens
    assert controller.state is I
    with pytest.raises(RuntimeError, match="from idle to running"):
        controller._set_state(R)
    assert controller.state is I


def _window(index: int, classes=("a", "b")) -> WindowResult:
    return WindowResult(index, 0.0, 0.1, np.full(len(classes), 1 / len(classes), np.float32), classes, 0.0,
                        False, 0.01)


def test_recording_stops_and_says_why_when_a_write_fails(tmp_path):
    recording = Recording()
    assert recording.write_result(_window(0)) == ""           # not recording: nothing written, no error
    assert recording.open(tmp_path / "r.csv") == ""
    assert recording.write_result(_window(0)) == ""
    error = recording.write_result(_window(1, classes=("a", "b", "c")))   # another model's classes
    assert error.startswith("Recording stopped:") and "classes" in error
    assert not recording.active and recording.last.rows["window"] == 1
    assert recording.open(tmp_path / "r.csv") == f"{tmp_path / 'r.csv'} exists; recording to {tmp_path / 'r-1.csv'} instead"
    assert recording.close().startswith("Saved 0 windows and 0 events")


def test_closing_an_error_box_never_frees_the_window_under_it(qtbot):
    """Once the caller's reference is gone, deleting the closed box must not be what deletes the window
    (that crashed Qt inside the box's own deletion)."""
    import gc

    from gui.main_window import MainWindow

    window = MainWindow(engine_factory=lambda *a: pytest.fail("nothing may be built"))
    window.show()
    window.show_error("a problem").accept()
    assert window.error_boxes == []
    del window
    gc.collect()
    qtbot.wait(50)                              # the box's deferred deletion runs here
