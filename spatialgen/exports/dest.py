"""The folder an export writes into: new or empty, locked while written, left empty again if writing fails.

Every export format goes through ``into_new_folder``, so none can overwrite a user's files, race another
export into the same folder, or leave half an export behind after an error or a Ctrl-C.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spatialgen.errors import SpatialgenError

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def safe_id(rid) -> str:
    """A row id usable as a file name; anything else (a crafted dataset's ``../x``) is refused."""
    rid = str(rid)
    if not _SAFE_ID.match(rid):
        raise SpatialgenError(f"row id {rid[:40]!r} is not a plain name (letters, digits, - and _): refusing to export")
    return rid


def image_ext(data: bytes) -> str:
    """A stored image's file extension, from its bytes (a row holds PNG or JPEG)."""
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    raise SpatialgenError("a row's image is neither PNG nor JPEG; the folder is damaged")


def check_empty(dest: Path) -> None:
    """Refuse a destination that is a file or a folder with anything in it (before any work starts)."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise SpatialgenError(f"{dest} is not an empty folder; export into a new one")


@contextmanager
def into_new_folder(dest: Path) -> Iterator[Path]:
    """Create (or take the empty) ``dest``, hold its lock, and on any failure remove what was written."""
    from spatialgen.lock import folder_lock

    check_empty(dest)
    created = not dest.exists()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SpatialgenError(f"cannot write to {dest}: {e.strerror or e}") from None
    with folder_lock(dest):
        if any(dest.iterdir()):  # another export got there first
            raise SpatialgenError(f"{dest} is not an empty folder; export into a new one")
        try:
            yield dest
        except BaseException as e:
            _empty(dest)  # it was empty before: leave it so, not half-exported
            if created:
                dest.rmdir()
            if isinstance(e, OSError):
                raise SpatialgenError(f"cannot write to {dest}: {e.strerror or e}") from None
            raise


def _empty(folder: Path) -> None:
    for p in folder.iterdir():
        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
