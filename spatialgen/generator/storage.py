"""Where a dataset folder lives: a local path or any fsspec URL (s3://, gs://, file://, a shared mount).

Writes are atomic either way: locally a temporary file renamed into place, on object stores one PUT of
the whole object, so a reader never sees half a file.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


class Store:
    def __init__(self, root: str | Path) -> None:
        from fsspec.core import url_to_fs

        from spatialgen.errors import SpatialgenError

        self.url = str(root)
        if not self.url.strip():
            raise SpatialgenError("an output or data location must not be empty")
        try:
            self.fs, self.root = url_to_fs(self.url)
        except ValueError as e:  # "Protocol not known: foo"
            raise SpatialgenError(f"{self.url}: {e}") from None
        except ImportError as e:  # s3:// without s3fs, gs:// without gcsfs, ...
            raise SpatialgenError(
                f"{self.url}: needs a filesystem package that is not installed ({e.name or e})"
            ) from None
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        self.local = protocol in ("file", "local")

    def path(self, rel: str = "") -> str:
        return f"{self.root.rstrip('/')}/{rel}" if rel else self.root

    def exists(self, rel: str = "") -> bool:
        return self.fs.exists(self.path(rel))

    def isdir(self, rel: str = "") -> bool:
        return self.fs.isdir(self.path(rel))

    def listdir(self, rel: str = "") -> list[str]:
        if not self.exists(rel):
            return []
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(self.path(rel), detail=False))

    def glob(self, pattern: str) -> list[str]:
        base = self.root.rstrip("/") + "/"
        return sorted(p[len(base) :] if p.startswith(base) else p for p in self.fs.glob(self.path(pattern)))

    def read_bytes(self, rel: str) -> bytes:
        return self.fs.cat_file(self.path(rel))

    def open(self, rel: str, mode: str = "rb") -> IO:
        return self.fs.open(self.path(rel), mode)

    def makedirs(self, rel: str = "") -> None:
        self.fs.makedirs(self.path(rel), exist_ok=True)

    def rm(self, rel: str) -> None:
        if self.exists(rel):
            self.fs.rm(self.path(rel))

    def write_atomic(self, rel: str, data: bytes) -> None:
        with self.atomic_file(rel) as f:
            f.write(data)

    @contextmanager
    def atomic_file(self, rel: str) -> Iterator[IO[bytes]]:
        """A binary file to write ``rel`` through, in place only once the block ends without an error:
        locally a temporary beside it (fsynced, then renamed), so a large file streams to disk rather than
        being held in memory; on an object store a buffer sent in one PUT (the object appears whole or not
        at all)."""
        target = self.path(rel)
        if not self.local:
            buf = io.BytesIO()
            yield buf
            self.fs.pipe(target, buf.getvalue())
            return
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.tmp-{os.getpid()}")
        try:
            with open(tmp, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise


def output_file(path: Path) -> Path:
    """A file the user asked us to write: its folder must exist and the path must not be a folder. Checked
    before any work, so a typo costs nothing and creates nothing."""
    from spatialgen.errors import SpatialgenError

    path = Path(path)
    if path.is_dir():
        raise SpatialgenError(f"{path} is a folder; name a file to write")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise SpatialgenError(f"{path}: its folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise SpatialgenError(f"{path}: not writable")
    return path
