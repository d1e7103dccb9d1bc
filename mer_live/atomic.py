"""Atomic file writes: a kill or a full disk leaves either the old file or the new one, never half of one;
and the check, before any work, that an output can be written at all."""
from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator


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
