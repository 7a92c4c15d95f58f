"""One writer per output folder: an advisory lock (flock) on the folder itself.

Two processes writing into the same render, eval, study or export folder would interleave their files; the
second is refused in one line instead. The lock is on the folder's own directory handle, so nothing is
written for it, and the kernel releases it when the process ends, however it ends (kill -9 included).
Object-store URLs have no locks (their writes are whole-object PUTs).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import SpatialgenError


@contextmanager
def folder_lock(folder: str | Path) -> Iterator[None]:
    """Hold the folder's lock for the block (the folder must exist); refuse if another process holds it."""
    text = str(folder)
    if "://" in text and not text.startswith("file://"):
        yield
        return
    path = Path(text.removeprefix("file://"))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        raise SpatialgenError(f"cannot open {path}: {e.strerror or e}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SpatialgenError(
                f"{path} is being written by another spatialgen process; wait for it, or use another folder"
            ) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
