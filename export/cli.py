"""`mer-export` entry point (CHECKPOINT [-o OUT.onnx]: checkpoints to verified ONNX; the command is export.command).

Kept free of heavy imports: the console script imports this module, and Ctrl-C while torch loads must end in
one line and status 130 (mer_live.cli_errors.run_command), not a KeyboardInterrupt traceback.
"""
from __future__ import annotations

import sys
from typing import Any

from mer_live.cli_errors import import_command, run_command

COMMAND = "export.command"


def main(argv: list[str] | None = None) -> int:
    return run_command("mer-export", COMMAND, argv)


def __getattr__(name: str) -> Any:
    """`cli.build_parser` and the command's other names, as before the command moved to export.command."""
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(import_command("mer-export", COMMAND), name)


if __name__ == "__main__":
    sys.exit(main())
