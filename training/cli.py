"""`mer-train` entry point (MODEL DATA_PATH DATASET [options]: LOSO training; the command is training.command).

Kept free of heavy imports: the console script imports this module, and Ctrl-C while torch loads must end in
one line and status 130 (mer_live.cli_errors.run_command), not a KeyboardInterrupt traceback.
"""
from __future__ import annotations

import sys
from typing import Any

from mer_live.cli_errors import import_command, run_command

COMMAND = "training.command"


def main(argv: list[str] | None = None) -> int:
    return run_command("mer-train", COMMAND, argv)


def __getattr__(name: str) -> Any:
    """`cli.build_parser` and the command's other names, as before the command moved to training.command."""
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(import_command("mer-train", COMMAND), name)


if __name__ == "__main__":
    sys.exit(main())
