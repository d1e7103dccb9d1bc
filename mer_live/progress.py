"""Progress bars for terminals, plain lines for logs.

A tqdm bar redraws itself with carriage returns: in a terminal that is one live line, but in a log file,
CI output or `| tee` it becomes one enormous line with status messages spliced into it. `progress()`
gives a normal tqdm bar when its stream is a terminal, and otherwise the same object API (update,
set_postfix, set_description, write, close, iteration) printing one plain line every `log_every_s`
seconds and a last line when it closes. A log line is a sentence, not a drawn bar:

    fold s01: epoch 10/10 (100%, 00:12 elapsed, 1.2 s/epoch); loss=0.412, train UF1=0.84
"""
from __future__ import annotations

import sys
import time
from typing import IO, Any, Iterable

from tqdm import tqdm

LOG_EVERY_S = 10.0


def is_terminal(stream: IO | None) -> bool:
    """Whether `stream` (default stderr) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):   # closed or fake streams
        return False


def format_line(desc: str, n: float, total: float | None, elapsed: float, unit: str = "it",
                rate: float | None = None, postfix: str = "") -> str:
    """One log line: what is done of how many, in which unit, how fast, then the figures (the postfix)."""
    count = f"{n:g}/{total:g}" if total else f"{n:g}"
    done = f"{unit} {count}" if unit and unit != "it" else count
    rate = rate if rate else (n / elapsed if elapsed > 0 and n else None)
    parts = [f"{100 * n / total:.0f}%"] if total else []
    parts.append(f"{tqdm.format_interval(elapsed)} elapsed")
    if total and rate and n < total:
        parts.append(f"{tqdm.format_interval((total - n) / rate)} left")
    if rate:
        per = unit or "it"
        parts.append(f"{rate:.1f} {per}/s" if rate >= 1 else f"{1 / rate:.1f} s/{per}")
    line = f"{desc}: {done} ({', '.join(parts)})" if desc else f"{done} ({', '.join(parts)})"
    return f"{line}; {postfix}" if postfix else line


class LineProgress(tqdm):
    """tqdm that prints whole lines (no carriage returns, no cursor moves, no drawn bar): the first, then at
    most one every `mininterval` seconds, and the last when it closes (also with leave=False: a log keeps
    where the work ended, there is no screen to tidy)."""

    def __str__(self) -> str:
        d = self.format_dict
        return format_line(str(d.get("prefix") or "").rstrip(": "), d["n"], d["total"], d["elapsed"],
                           d.get("unit") or "it", d.get("rate"), str(d.get("postfix") or "").lstrip(", "))

    def display(self, msg: str | None = None, pos: int | None = None) -> None:
        if self.disable and not getattr(self, "_closing", False):
            return
        if getattr(self, "_after_write", False) and not getattr(self, "_closing", False):
            self._after_write = False     # tqdm.write redraws bars after a message; a log line needs no redraw
            return
        now = time.monotonic()
        last = getattr(self, "_last_print", None)
        if last is not None and now - last < self.mininterval and not getattr(self, "_closing", False):
            return
        text = (msg if msg is not None else self.__str__()).strip()
        if text and text != getattr(self, "_last_line", None):
            self.fp.write(text + "\n")
            self.fp.flush()
            self._last_line = text
            self._last_print = now

    def close(self) -> None:
        if self.disable:
            return
        self._closing = True
        self.display()                    # the last line: where the work ended
        self.disable = True
        self._decr_instances(self)

    def clear(self, nolock: bool = False) -> None:   # nothing on screen to clear in a log
        self._after_write = True          # tqdm.write clears, writes, then refreshes: skip that refresh

    def moveto(self, n: int) -> None:                 # no cursor in a log
        pass


def progress(iterable: Iterable | None = None, *, file: IO | None = None, log_every_s: float = LOG_EVERY_S,
             **kwargs: Any) -> tqdm:
    """A tqdm bar on a terminal; a LineProgress (a line every `log_every_s` seconds) anywhere else.

    Takes tqdm's keyword arguments (desc, total, unit, disable, leave, position, postfix, ...); output goes
    to `file` (default stderr).
    """
    stream = sys.stderr if file is None else file
    if is_terminal(stream):
        return tqdm(iterable, file=stream, dynamic_ncols=True, **kwargs)
    kwargs.pop("dynamic_ncols", None)
    kwargs.setdefault("mininterval", log_every_s)
    kwargs["maxinterval"] = max(kwargs.get("maxinterval", log_every_s), kwargs["mininterval"])
    kwargs["position"] = None
    return LineProgress(iterable, file=stream, ncols=100, ascii=True, **kwargs)


def write(text: str, file: IO | None = None) -> None:
    """Print a message above any live bars (tqdm.write), or as a plain line in a log."""
    tqdm.write(text, file=sys.stderr if file is None else file)
