"""Atomic file writes: a kill or a full disk leaves either the old file or the new one, never half of one;
and the checks, before any work, that an output can be written at all and replaces none of the run's inputs
or other outputs."""
from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator, Mapping

from mer_live.cli_errors import CommandError


# The temporary files of `atomic_path`: ".NAME." + mkstemp's 8 random characters + ".tmp".
TEMPORARY_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path`.

    An OSError on the way (no space, no permission, a folder that is a file) is raised naming `path`, not
    the temporary file, and leaves `path` as it was.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        _raise_naming(exc, path)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as exc:
        if exc.filename not in (None, tmp):   # an error about another file (an input) keeps its own name
            raise
        _raise_naming(exc, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _raise_naming(exc: OSError, path: Path) -> None:
    """Raise the same error naming `path`: writers such as torch.save into an open handle give no file
    name, and mkstemp names the temporary file the user never asked for."""
    if exc.errno is None:
        raise exc
    raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def check_writable(path: str | os.PathLike, *, folder: bool = False) -> Path:
    """Raise an OSError naming `path` now, before any work, if it could not be written later; returns it.

    `folder=True`: `path` is an output folder (created later, with files inside it); otherwise an output
    file. Catches a path through a file, a folder where a file is wanted (and the reverse), a folder
    without write permission or on a read-only disk, and an existing read-only file. Creates nothing.
    """
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "it is a file, not a folder", str(path))
    if not folder and path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
    existing = path if folder else path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{existing} is a file, not a folder", str(path))
    try:  # a real write: permission bits, ACLs and read-only mounts all answer it truthfully
        fd, probe = tempfile.mkstemp(prefix=".mer-live-probe.", dir=existing)
    except OSError as exc:
        _raise_naming(exc, path)
    os.close(fd)
    os.unlink(probe)
    if not folder and path.is_file() and not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, "the file exists and is read-only", str(path))
    return path


class PathClashError(CommandError):
    """An output names the same file as an input or another output of the run (exit status 2)."""


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """`a` and `b` name one file: the same real path (symlinks followed, also in a path not yet made), or
    two names of one existing file (a hard link, a case-insensitive disk: os.path.samefile)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:                 # one of them does not exist (yet): then they differ
        return False


def overlapping(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """The real paths of `a` and `b` are the same, or one lies inside the other (folders)."""
    a, b = Path(os.path.realpath(a)), Path(os.path.realpath(b))
    return a == b or a in b.parents or b in a.parents


def check_apart(outputs: Mapping[str, str | os.PathLike | None],
                inputs: Mapping[str, str | os.PathLike | None] | None = None) -> None:
    """Refuse, before any work, an output that is one of the run's inputs or another of its outputs.

    Both map what the user calls a path (an option such as "--out") to the path (None: not given). Paths are
    compared as `same_file` does, so a symlink or a hard link to an input is caught too. Raises
    PathClashError (exit status 2) in one line naming both.
    """
    given_outputs = [(name, path) for name, path in outputs.items() if path is not None]
    given_inputs = [(name, path) for name, path in (inputs or {}).items() if path is not None]
    for i, (name, path) in enumerate(given_outputs):
        for other, other_path in given_inputs:
            if same_file(path, other_path):
                raise PathClashError(f"{name} {path} is the input {other} {other_path}{_resolved(path, other_path)}: "
                                     f"writing it would replace that input; give {name} another path")
        for other, other_path in given_outputs[i + 1:]:
            if same_file(path, other_path):
                raise PathClashError(f"{name} {path} and {other} {other_path} are the same file"
                                     f"{_resolved(path, other_path)}: one would be written over the other; give "
                                     "them different paths")


def _resolved(a: str | os.PathLike, b: str | os.PathLike) -> str:
    """Where the two paths meet, when their spelling does not show it (a symlink, `..`, a hard link)."""
    if os.fspath(a) == os.fspath(b):
        return ""
    real = os.path.realpath(a)
    return f" (both are {real})" if real == os.path.realpath(b) else " (two names of one file)"


def remove_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files a killed writer left in `folder` and below (only names `atomic_path`
    makes; symlinks are not followed); returns them.

    Call it only on a folder the caller owns, under its lock (`mer_live.folder_lock`): another live
    writer's temporary file looks the same.
    """
    removed = []
    for parent, _, names in os.walk(folder):
        for name in names:
            path = Path(parent) / name
            if TEMPORARY_NAME.fullmatch(name) and path.is_file() and not path.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
    return removed
