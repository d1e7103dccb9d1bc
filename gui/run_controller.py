"""One engine run at a time, and the states it goes through (`RunState`).

The engine is built on a helper thread (opening a model or rendering the demo stream takes seconds, which
must not freeze the window). Each run gets a fresh `EngineBridge` whose signals are connected to this
controller for that run only and disconnected after it, so a stopped run's late signals can never reach
the next run. The window connects once to the controller's own signals, and nothing here blocks on
inference.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import QObject, Qt, Signal

from gui.bridge import EngineBridge
from gui.session import EngineFactory, EngineLike, SourceChoice
from mer_live.onnx_metadata import ModelFileError

STOP_GRACE_S = 5.0      # after this long in STOPPING, the window says the source may be blocked


class RunState(str, Enum):
    """Where the run is. A str Enum: `state == "idle"` reads as before the Enum existed."""

    IDLE = "idle"            # no engine: source and model can be changed, Start is enabled
    STARTING = "starting"    # the engine is being built on a helper thread
    RUNNING = "running"      # the engine runs: Stop is enabled
    STOPPING = "stopping"    # stop() was asked; the run ends when the engine says it finished

    @property
    def editable(self) -> bool:
        """Source, model and Start are usable only between runs."""
        return self is RunState.IDLE

    @property
    def stoppable(self) -> bool:
        return self is RunState.RUNNING

    def can_become(self, other: "RunState") -> bool:
        return other in _TRANSITIONS[self]


# STARTING -> IDLE: the build failed, the recording could not open, start() failed, or the window closed;
# RUNNING -> IDLE: the source ended by itself. Every other change is a bug in the window.
_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.IDLE: frozenset({RunState.STARTING}),
    RunState.STARTING: frozenset({RunState.RUNNING, RunState.IDLE}),
    RunState.RUNNING: frozenset({RunState.STOPPING, RunState.IDLE}),
    RunState.STOPPING: frozenset({RunState.IDLE}),
}


@dataclass(frozen=True)
class RunEnd:
    """What a finished run leaves for the window: its last stats, frames the display skipped, and why it ended."""

    stats: object | None          # EngineStats, or None when the engine could not give them
    frames_coalesced: int
    stopped: bool                 # True: the user stopped it; False: the source finished


class RunController(QObject):
    """Owns at most one engine; `engine_factory(choice, model, listener)` builds it (tests pass a fake).

    Signals (UI thread): `state_changed(RunState)`; `built(engine)`, after which the window prepares
    (recording) and calls `launch()` or `abandon()`; `build_failed(text)`; the current run's
    `frame_ready(FrameInfo)`, `result_ready`, `event_ready`, `status_ready`; `run_ended(RunEnd)`.
    """

    state_changed = Signal(object)
    built = Signal(object)
    build_failed = Signal(str)
    frame_ready = Signal(object)
    result_ready = Signal(object)
    event_ready = Signal(object)
    status_ready = Signal(object)
    run_ended = Signal(object)

    def __init__(self, engine_factory: EngineFactory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine_factory = engine_factory
        self.state = RunState.IDLE
        self.engine: EngineLike | None = None
        self.bridge: EngineBridge | None = None
        self._stop_requested_at = 0.0
        # each EngineBridge signal and the slot here it is connected to for one run (and detached after it)
        self._bridge_slots = (("frame_ready", self._on_frame_ready), ("result_ready", self._on_result),
                              ("event_ready", self._on_event), ("status_ready", self._on_status),
                              ("finished", self._on_finished), ("built", self._on_built),
                              ("build_failed", self._on_build_failed))

    # state ---------------------------------------------------------------------------------------
    def _set_state(self, state: RunState) -> None:
        if not self.state.can_become(state):
            raise RuntimeError(f"run state cannot go from {self.state.value} to {state.value}")
        self.state = state
        self.state_changed.emit(state)

    @property
    def frames_coalesced(self) -> int:
        return self.bridge.frames_coalesced if self.bridge is not None else 0

    def stop_overdue(self) -> bool:
        """Stopping for longer than STOP_GRACE_S (e.g. a camera blocked in a read)."""
        return self.state is RunState.STOPPING and time.monotonic() - self._stop_requested_at > STOP_GRACE_S

    def stats(self):
        """The running engine's stats, or None (no engine, or it failed to give them)."""
        return safe_stats(self.engine)

    # run control ---------------------------------------------------------------------------------
    def start(self, choice: SourceChoice, model: str | None) -> bool:
        """Build the engine on a helper thread; `built` or `build_failed` follows. False when not idle."""
        if self.state is not RunState.IDLE:
            return False
        bridge = EngineBridge()            # no Qt parent: it lives as long as the engine that calls it
        for signal, slot in self._bridge_slots:
            getattr(bridge, signal).connect(slot, Qt.ConnectionType.QueuedConnection)
        self.bridge, self.engine = bridge, None
        self._set_state(RunState.STARTING)
        threading.Thread(target=self._build_engine, args=(choice, model, bridge), name="mer-gui-build",
                         daemon=True).start()
        return True

    def _build_engine(self, choice: SourceChoice, model: str | None, bridge: EngineBridge) -> None:
        """Helper thread: run the factory; the outcome goes back to the UI thread through the bridge."""
        try:
            engine = self.engine_factory(choice, model, bridge)
        except ModelFileError as exc:       # the model is at fault, not the source: say so
            bridge.build_failed.emit(f"Cannot use the model: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - any failure to build the engine is shown, not raised
            bridge.build_failed.emit(f"Cannot start {choice.describe()}: {exc}")
            return
        bridge.built.emit(engine)

    def _on_build_failed(self, text: str) -> None:
        if self._from_current_run():
            self.abandon()
            self.build_failed.emit(text)

    def _on_built(self, engine: EngineLike) -> None:
        if not self._from_current_run() or self.state is not RunState.STARTING:
            return                          # the window was closed while the engine was being built
        self.engine = engine
        self.built.emit(engine)

    def launch(self) -> None:
        """Start the built engine (after `built`); exceptions from its start() propagate, the state stays."""
        if self.engine is None or self.state is not RunState.STARTING:
            raise RuntimeError(f"no built engine to launch (state {self.state.value})")
        self.engine.start()
        self._set_state(RunState.RUNNING)

    def stop(self) -> None:
        """Ask the engine to stop; the run ends when its on_finished arrives (the UI never blocks here).

        An exception from the engine's stop() propagates in STOPPING: the caller reports it, then `finish()`es.
        """
        if self.state is not RunState.RUNNING or self.engine is None:
            return
        self._set_state(RunState.STOPPING)
        self._stop_requested_at = time.monotonic()
        self.engine.stop()

    def _on_finished(self) -> None:
        if self._from_current_run():
            self.finish()

    def finish(self) -> None:
        """Join the engine, detach its bridge, go back to idle and emit `run_ended` (after on_finished,
        when stop() failed, or on shutdown)."""
        engine, bridge = self.engine, self.bridge
        self.engine, self.bridge = None, None
        if engine is not None:
            join(engine, 1.0)
        stats = safe_stats(engine)
        if bridge is not None:
            self._detach(bridge)
        stopped = self.state is RunState.STOPPING
        self._set_state(RunState.IDLE)
        self.run_ended.emit(RunEnd(stats, bridge.frames_coalesced if bridge else 0, stopped))

    def abandon(self) -> None:
        """Drop a run that never got running (build failed, no recording, start failed, window closed)."""
        bridge, self.bridge, self.engine = self.bridge, None, None
        if bridge is not None:
            self._detach(bridge)
        self._set_state(RunState.IDLE)

    def shutdown(self, timeout_s: float = 3.0) -> None:
        """Stop the engine and deliver the signals already queued (so a recording gets them)."""
        from PySide6.QtCore import QCoreApplication

        if self.state is RunState.STARTING:  # the engine being built is dropped when it arrives
            self.abandon()
        engine = self.engine
        if engine is None:
            return
        try:
            engine.stop()
            join(engine, timeout_s)
        except Exception:  # noqa: BLE001
            pass
        QCoreApplication.processEvents()
        if self.engine is not None:         # on_finished did not come: finish here
            self.finish()

    def _detach(self, bridge: EngineBridge) -> None:
        """Disconnect a finished run's bridge: whatever its engine still emits goes nowhere."""
        for signal, _ in self._bridge_slots:
            try:
                getattr(bridge, signal).disconnect()
            except (RuntimeError, TypeError):
                pass

    # engine callbacks (UI thread), forwarded only for the current run -----------------------------
    def _from_current_run(self) -> bool:
        """False for signals of a previous run's bridge (they are disconnected, this is belt and braces)."""
        return self.bridge is not None and self.sender() is self.bridge

    def _on_frame_ready(self) -> None:
        if self._from_current_run():
            info = self.bridge.take_frame()
            if info is not None:
                self.frame_ready.emit(info)

    def _on_result(self, result) -> None:
        if self._from_current_run():
            self.result_ready.emit(result)

    def _on_event(self, event) -> None:
        if self._from_current_run():
            self.event_ready.emit(event)

    def _on_status(self, message) -> None:
        if self._from_current_run():
            self.status_ready.emit(message)


def join(engine: EngineLike, timeout: float) -> None:
    try:
        engine.join(timeout=timeout)
    except TypeError:                   # an engine whose join() takes no timeout
        engine.join()


def safe_stats(engine):
    """`engine.stats()`, or None without an engine or when it fails: a readout must never break the window."""
    if engine is None:
        return None
    try:
        return engine.stats()
    except Exception:  # noqa: BLE001
        return None
