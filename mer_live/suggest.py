""""Did you mean ..." for an unknown name: a suggestion in the error message, never an auto-correction.

Used by the model registry and by the command lines for any choice the user types (models, features,
datasets, providers, ...). Matching ignores case, so `gray_of` suggests `GRAY_OF`.
"""
from __future__ import annotations

import difflib
from typing import Iterable


def close_matches(word: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Up to `n` choices that look like `word`, closest first (difflib's ratio, case ignored)."""
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(str(choice).lower(), str(choice))
    return [by_lower[m] for m in difflib.get_close_matches(str(word).lower(), list(by_lower), n=n, cutoff=cutoff)]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """"did you mean 'x'?" (or "'x' or 'y'") for the closest choices; "" when nothing is close."""
    matches = close_matches(word, choices)
    if not matches:
        return ""
    quoted = [repr(m) for m in matches]
    return "did you mean " + (quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]) + "?"


def unknown_choice(what: str, word: str, choices: Iterable[str]) -> str:
    """One line for an unknown `what` (e.g. "model"): the name, the closest choices, every choice."""
    choices = list(choices)
    hint = did_you_mean(word, choices)
    return f"unknown {what} {word!r}" + (f"; {hint}" if hint else "") + f" (choose one of: {', '.join(choices)})"
