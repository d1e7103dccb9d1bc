"""argparse types for numbers with a range: `nan`, `inf` and out-of-range values are refused when the command
line is parsed (status 2, one line naming the option), not as a traceback after minutes of work.

    parser.add_argument("-lr", type=number(above=0, high=1), ...)
    parser.add_argument("--workers", type=integer(low=0, high=256), ...)
"""
from __future__ import annotations

import argparse
import math
from typing import Callable


def _bounded(kind: type, low: float | None, high: float | None, above: float | None) -> Callable[[str], float]:
    noun = "an integer" if kind is int else "a number"
    limits = []
    if above is not None:
        limits.append(f"more than {above:g}")
    if low is not None:
        limits.append(f"at least {low:g}")
    if high is not None:
        limits.append(f"at most {high:g}")
    rule = " and ".join(limits)

    def parse(text: str):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}" + (f" ({rule})" if rule else "")) from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number" + (f"; give {rule}" if rule else ""))
        if (above is not None and not value > above) or (low is not None and value < low) \
                or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    parse.__name__ = "integer" if kind is int else "number"   # argparse's "invalid <name> value"
    return parse


def number(low: float | None = None, high: float | None = None, *, above: float | None = None) -> Callable[[str], float]:
    """A finite float in [low, high] (and > `above` when given)."""
    return _bounded(float, low, high, above)


def integer(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An int in [low, high]."""
    return _bounded(int, low, high, None)
