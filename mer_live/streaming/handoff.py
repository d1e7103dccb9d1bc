"""How the engine's threads hand work to each other.

`Inbox`: one consumer's work, in two lanes: a FIFO lane that is never dropped (events to classify, frames to
detect) and a one-slot lane for the newest stride window (a newer one replaces it: stale windows are dropped,
never queued). `Pending`: one piece of work and, later, its result (a frame and the face found in it).
"""
from __future__ import annotations

import collections
import threading
from typing import Any


class Inbox:
    """Work for one consumer: FIFO items first, then the newest-only item (`put_newest` replaces what waits
    there and says so)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: collections.deque = collections.deque()
        self._newest: Any = None
        self._closed = False

    def put(self, item: Any) -> None:
        with self._cond:
            self._queue.append(item)
            self._cond.notify()

    def put_newest(self, item: Any) -> bool:
        """Leave `item` in the one-slot lane; True when it replaced one that was waiting."""
        with self._cond:
            replaced = self._newest is not None
            self._newest = item
            self._cond.notify()
            return replaced

    def get(self, timeout: float | None = None) -> Any:
        """The next item (FIFO lane first); None when closed and empty (or on timeout)."""
        with self._cond:
            if not self._queue and self._newest is None and not self._closed:
                self._cond.wait(timeout)
            if self._queue:
                return self._queue.popleft()
            item, self._newest = self._newest, None
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __iter__(self):
        """Yield items as they come until the inbox is closed and empty."""
        while True:
            item = self.get(timeout=0.5)
            if item is not None:
                yield item
            elif self._closed:
                with self._cond:
                    if not self._queue and self._newest is None:
                        return


class Pending:
    """One input waiting for its result: `finish(result)` from the worker, `result(stop)` waits for it
    (None if `stop` is set first)."""

    def __init__(self, item: Any):
        self.item = item
        self._done = threading.Event()
        self._result: Any = None

    def finish(self, result: Any) -> None:
        self._result = result
        self.item = None                 # the input (a whole frame) is not kept once done
        self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def result(self, stop: threading.Event) -> Any:
        while not self._done.wait(0.1):
            if stop.is_set():
                return None
        return self._result
