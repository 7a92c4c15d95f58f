"""Reading a rendered folder back with pyarrow: the files, the rows, and the columns without images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from spatialgen.errors import SpatialgenError

from .manifest import Manifest, read_manifest
from .records import SPLITS
from .shard import DATA


def finished(out: Path) -> Manifest:
    """The manifest of a complete render, or a one-line error."""
    try:
        m = read_manifest(out) if out.is_dir() else None
    except ValueError:
        m = None
    if m is None:
        raise SpatialgenError(f"{out} is not a spatialgen render folder (no readable manifest.json)")
    if not m.complete:
        raise SpatialgenError(f"{out} is an unfinished render; re-run the same render command to complete it")
    return m


def data_files(out: Path, split: str | None = None) -> list[Path]:
    """Parquet files in (split, shard) order."""
    files = sorted((out / DATA).glob("*.parquet"))
    order = {s: k for k, s in enumerate(SPLITS)}
    files.sort(key=lambda p: (order.get(p.name.split("-")[0], 9), p.name))
    return [p for p in files if split is None or p.name.startswith(split + "-")]


def iter_rows(out: Path, columns: list[str] | None = None, split: str | None = None) -> Iterator[dict[str, Any]]:
    for p in data_files(out, split):
        pf = pq.ParquetFile(p)
        for batch in pf.iter_batches(batch_size=256, columns=columns):
            yield from batch.to_pylist()
