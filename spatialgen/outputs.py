"""Output folders a failed run leaves as it found them.

A run that fails with an error the user can cause (a bad image met halfway, a damaged file) must leave no
half-written output: a folder it created is removed, a folder it resumed keeps what earlier runs wrote.
A Ctrl-C is not a failure: what it leaves is the resume point (re-run the same command).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spatialgen.errors import SpatialgenError


def _topmost_missing(folder: Path) -> Path | None:
    """The highest of ``folder`` and its parents that does not exist yet (what a ``mkdir -p`` would create)."""
    top = None
    for p in (folder, *folder.parents):
        if p.exists():
            break
        top = p
    return top


def _empty_dir(folder: Path) -> bool:
    try:
        return folder.is_dir() and not any(folder.iterdir())
    except OSError:
        return False


@contextmanager
def fresh(*folders: Path | str | None) -> Iterator[None]:
    """Leave each of ``folders`` as this block found it when the block fails with an error the user can
    cause (SpatialgenError, pydantic's ValidationError, OSError): what it created (the folder and any parent
    made for it) is removed, an empty folder it found is emptied again, a folder that held anything (a run to
    resume) is kept as it is. Local paths only."""
    from pydantic import ValidationError

    local = [Path(f) for f in folders if f is not None and str(f) and "://" not in str(f)]
    missing = [m for m in (_topmost_missing(f.absolute()) for f in local) if m is not None]
    empty = [f for f in local if _empty_dir(f)]
    try:
        yield
    except (SpatialgenError, ValidationError, OSError):
        for m in missing:
            shutil.rmtree(m, ignore_errors=True)
        for f in empty:
            for child in list(f.iterdir()) if f.is_dir() else []:
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise
