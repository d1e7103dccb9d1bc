"""The commands' argparse parser: "did you mean" on an invalid choice, and help that shows real defaults.

`ArgumentParser`'s "invalid choice" error names the nearest choices (mer_live.suggest: a suggestion, never a
correction) and its help shows each option's real default (none for flags and options that default to
nothing), so every command's help and errors read the same way.
"""
from __future__ import annotations

import argparse
from typing import Any

from mer_live.suggest import did_you_mean


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
    know (`prog: error: argument --x: invalid choice: 'smci'; did you mean 'SMIC'? (choose from ...)`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is not None and value not in action.choices:
            hint = did_you_mean(value, action.choices)
            raise argparse.ArgumentError(action, f"invalid choice: {value!r}" + (f"; {hint}" if hint else "")
                                         + f" (choose from {', '.join(map(str, action.choices))})")
