"""Named choices: an unknown name is refused with the list and the nearest names, never corrected.

`did_you_mean` is difflib's nearest matches as a message tail; `ArgumentParser` is argparse's parser whose
"invalid choice" error carries it, and whose help shows each option's real default (none for flags and
options that default to nothing), so every command's help and errors read the same way.
"""
from __future__ import annotations

import argparse
import difflib
from typing import Any, Iterable


def did_you_mean(value: Any, choices: Iterable[Any]) -> str:
    """' (did you mean X or Y?)' for the choices nearest to `value`, '' when none is near."""
    names = [str(c) for c in choices]
    close = difflib.get_close_matches(str(value), names, n=3, cutoff=0.6)
    if not close:  # case slips (smic for SMIC) are the commonest typo; difflib weighs case fully
        lower = {n.lower(): n for n in names}
        close = [lower[n] for n in difflib.get_close_matches(str(value).lower(), list(lower), n=3, cutoff=0.6)]
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def unknown_choice(what: str, value: Any, choices: Iterable[Any]) -> str:
    """'unknown WHAT 'value' (did you mean ...?); choose one of A, B, C'."""
    choices = list(choices)
    return f"unknown {what} {value!r}{did_you_mean(value, choices)}; choose one of {', '.join(map(str, choices))}"


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Appends '(default: X)' to an option's help unless the help already says its default, or there is none
    to say (None, False, or a flag)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        if "default" in help_text or any(action.default is nothing for nothing in (None, False, argparse.SUPPRESS)):
            return help_text
        if not action.option_strings and action.nargs not in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return help_text
        if isinstance(action.default, (list, tuple)):
            return help_text + " (default: " + " ".join(map(str, action.default)) + ")"
        return help_text + " (default: %(default)s)"


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser with `DefaultsHelpFormatter` by default and a "did you mean" on a choice it does not
    know (`prog: error: argument --x: invalid choice: 'smci' (did you mean SMIC?); choose from ...`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is not None and value not in action.choices:
            choices = ", ".join(map(str, action.choices))
            raise argparse.ArgumentError(
                action, f"invalid choice: {value!r}{did_you_mean(value, action.choices)}; choose from {choices}")
