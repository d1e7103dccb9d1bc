"""One run at a time in an output folder: two runs writing one folder mix their results (a seed-0 run's
models under a seed-7 run's options.json), so the second one is refused, naming the first.

The lock is `fcntl.flock` on `FOLDER/.mer-live.lock`, which also holds who took it (pid, host, start time,
command). The kernel drops the lock when its holder exits, however it exits (`kill -9` too), so a lock is
never stale. The holder deletes the file while it still holds the lock; a process that locked a file just
deleted sees that its file is no longer the one at the path, and tries again.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shlex
import socket
import sys
import time
from pathlib import Path
from typing import Iterator

from mer_live.cli_errors import EXIT_CANNOT_WRITE, CommandError

LOCK_NAME = ".mer-live.lock"


class FolderInUseError(CommandError):
    """Another live process holds the folder's lock; the message names it."""

    def __init__(self, message: str):
        super().__init__(message, EXIT_CANNOT_WRITE)


def this_command() -> str:
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])


def _one_line(text: str) -> str:
    return " ".join(str(text).split("\n"))


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, command: str | None = None) -> Iterator[Path]:
    """Hold `folder`'s lock for the block (creating the folder); FolderInUseError if another process holds it.

    On exit the lock file is removed, and the folder too when this call created it and nothing else was
    written there (a run refused before its work leaves no empty folder behind).
    """
    folder = Path(folder)
    created = not folder.exists()
    fd = _acquire(folder / LOCK_NAME)
    try:
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": _one_line(command or this_command())}
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(holder) + "\n").encode())
        yield folder
    finally:
        with contextlib.suppress(OSError):
            os.unlink(folder / LOCK_NAME)   # while still held: see the module docstring
        os.close(fd)                        # releases the lock
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()              # only if empty


def _acquire(path: Path) -> int:
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise FolderInUseError(_refusal(path)) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)                        # the holder deleted this file as we locked it: take the new one


def _refusal(path: Path) -> str:
    holder: dict = {}
    for _ in range(20):                     # the holder writes its name just after it takes the lock
        with contextlib.suppress(OSError, ValueError):
            holder = json.loads(path.read_text(encoding="utf-8"))
        if holder:
            break
        time.sleep(0.05)
    who = (f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}: "
           f"{holder.get('command')}") if holder else "a process that has not written its name yet"
    return (f"{path.parent} is in use by another run ({who}); wait for it to finish, or give another "
            "output folder")
