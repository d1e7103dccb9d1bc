"""One error handler for every command: an expected error becomes one line and a distinct exit status.

Every `main()` wraps its work in `command_errors(prog, table)`; the table maps the command's own error
types to a status, and OSError (permission, read-only, a path through a file, a full disk) and Ctrl-C are
handled the same way everywhere. Anything else is a bug and keeps its traceback. `--debug` prints the
traceback of an expected error too (for bug reports).

Exit statuses (the README's "Reliability" section shows the same table):
"""
from __future__ import annotations

import contextlib
import errno
import importlib
import sys
import traceback
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Iterator, Mapping

EXIT_OK = 0
EXIT_INCOMPLETE = 1       # the run ended without all of its results (the lines above say which and why)
EXIT_USAGE = 2            # bad options or input data (argparse's status too)
EXIT_CANNOT_WRITE = 3     # an output cannot be written: permission, read-only, a path through a file
EXIT_DISK_FULL = 4        # no space left on the output's disk
EXIT_UNREADABLE_INPUT = 5  # an input cannot be read: corrupt frame or video, a camera that does not open
EXIT_BAD_MODEL = 6        # a model file mer-live cannot use: not ONNX, not a mer-live checkpoint
EXIT_INTERRUPTED = 130    # Ctrl-C (128 + SIGINT, as shells report it)

EXIT_STATUSES = {
    EXIT_OK: "success",
    EXIT_INCOMPLETE: "the run ended without all of its results: clips that could not be cropped, exports that "
                     "failed verification, a video that ended early (without --allow-partial); the lines above "
                     "say which",
    EXIT_USAGE: "bad options or input data: the message names the option or file and the fix",
    EXIT_CANNOT_WRITE: "an output cannot be written (permission, read-only disk, a path through a file); "
                       "checked before the work starts",
    EXIT_DISK_FULL: "the disk filled up while writing; nothing half-written is left, and finished work is kept",
    EXIT_UNREADABLE_INPUT: "an input cannot be read: a corrupt frame or video, a camera that does not open",
    EXIT_BAD_MODEL: "a model file cannot be used: not ONNX, not a mer-live checkpoint, without mer-live metadata, "
                    "with sizes out of bounds, or with metadata that does not fit its graph",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); finished work is kept",
}
__doc__ += "\n".join(f"    {status:3d}  {meaning}" for status, meaning in EXIT_STATUSES.items()) + "\n"

DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
DEBUG_HELP = "show the Python traceback of an error (for bug reports)"


class CommandError(Exception):
    """An expected failure raised by a command's own code, with its exit status; the message names the fix."""

    def __init__(self, message: str, status: int = EXIT_USAGE):
        super().__init__(message)
        self.status = status


@dataclass
class Outcome:
    """What `command_errors` yields: the body may set `status`; an error it handles sets it too."""

    status: int = EXIT_OK


def describe_os_error(exc: OSError) -> tuple[int, str]:
    """(exit status, one line naming the path and the fix) for an OSError from reading or writing a file."""
    if exc.errno is None:                   # raised by our own code with a whole message (e.g. a missing model)
        return (EXIT_USAGE if isinstance(exc, FileNotFoundError) else EXIT_CANNOT_WRITE), str(exc)
    path = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or str(exc)
    if exc.errno in DISK_FULL_ERRNOS:
        return EXIT_DISK_FULL, (f"no space left on the disk that holds {path}: free space there, or give an "
                                "output on another disk; nothing half-written was left")
    if isinstance(exc, (NotADirectoryError, FileExistsError)) or exc.errno == errno.ENOTDIR:
        if "not a folder" not in reason:
            reason += " (a part of that path is a file, not a folder)"
        return EXIT_CANNOT_WRITE, f"cannot write {path}: {reason}; choose another output path"
    if isinstance(exc, IsADirectoryError):
        return EXIT_CANNOT_WRITE, f"cannot write {path}: it is a folder; give a file name inside it"
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return EXIT_CANNOT_WRITE, (f"cannot write {path}: {reason}; make that folder writable or choose "
                                   "another output path")
    if isinstance(exc, FileNotFoundError):
        return EXIT_USAGE, f"{path}: no such file or folder; check the path"
    return EXIT_CANNOT_WRITE, f"{path}: {reason}"


def _status_for(exc: BaseException, table: Mapping[type, int]) -> int | None:
    for kind, status in table.items():
        if isinstance(exc, kind):
            return status
    if isinstance(exc, CommandError):
        return exc.status
    return None


@contextlib.contextmanager
def command_errors(prog: str, table: Mapping[type, int] | None = None, *, debug: bool = False,
                   interrupted: str = "", kept: str = "") -> Iterator[Outcome]:
    """Run a command's work; an expected error prints `prog: error: <one line>` and sets `Outcome.status`.

    `table` maps the command's error types to statuses (first match wins; OSError and KeyboardInterrupt need
    no entry). `interrupted` is said after Ctrl-C (how to resume); `kept` is added when the disk fills up
    mid-run (what of the run survives, e.g. "finished folds are kept; the same command resumes"); other
    write errors are found by `mer_live.atomic.check_writable` before the work starts.
    """
    table = dict(table or {})
    outcome = Outcome()
    try:
        yield outcome
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"\n{prog}: interrupted" + (f"; {interrupted}" if interrupted else ""), file=sys.stderr)
        outcome.status = EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - only the expected types are handled; the rest is re-raised
        status = _status_for(exc, table)
        message = str(exc)
        if status is None and isinstance(exc, OSError):
            status, message = describe_os_error(exc)
            if kept and status == EXIT_DISK_FULL:
                message += f"; {kept}"
        if status is None:
            raise
        if debug:
            traceback.print_exc()
        print(f"{prog}: error: {message}", file=sys.stderr)
        outcome.status = status


def import_command(prog: str, module: str) -> ModuleType:
    """Import a command's module (torch and the rest take seconds): Ctrl-C meanwhile ends it in one line,
    status 130, not a KeyboardInterrupt traceback from deep inside an import."""
    try:
        return importlib.import_module(module)
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted while starting; nothing was done", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED) from None


def run_command(prog: str, module: str, argv: list[str] | None) -> int:
    """A console entry point: import `module` (see import_command) and return its `main(argv)`; Ctrl-C outside
    the command's own handler (while it parses, before its work starts) is one line and status 130 too."""
    main: Callable[[Any], int] = import_command(prog, module).main
    try:
        return main(argv)
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
