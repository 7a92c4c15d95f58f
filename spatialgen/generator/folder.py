"""Reading a rendered folder back with pyarrow: the files, the rows, and the columns without images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from spatialgen.errors import SpatialgenError

from .manifest import SPLITS, Manifest, damaged_shards, read_manifest
from .shard import DATA
from .storage import Store


def finished(out: str | Path) -> Manifest:
    """The manifest of a complete render, or a one-line error."""
    try:
        m = read_manifest(out) if Store(out).isdir() else None
    except ValueError:
        m = None
    if m is None:
        raise SpatialgenError(f"{out} is not a spatialgen render folder (no readable manifest.json)")
    if not m.complete:
        raise SpatialgenError(f"{out} is an unfinished render; re-run the same render command to complete it")
    bad = damaged_shards(Store(out), m)
    if bad:
        raise SpatialgenError(
            f"{out}: {len(bad)} shard(s) missing or not the size the manifest recorded (first: shard {bad[0]}); "
            "re-run the same render command to repair"
        )
    return m


def data_files(out: str | Path, split: str | None = None) -> list[str]:
    """Parquet files (relative to ``out``) in (split, shard) order."""
    names = [n for n in Store(out).listdir(DATA) if n.endswith(".parquet")]
    order = {s: k for k, s in enumerate(SPLITS)}
    names.sort(key=lambda n: (order.get(n.split("-")[0], 9), n))
    return [f"{DATA}/{n}" for n in names if split is None or n.startswith(split + "-")]


def iter_rows(out: str | Path, columns: list[str] | None = None, split: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows in (split, shard) order; a damaged shard is one SpatialgenError naming it."""
    import pyarrow as pa

    store = Store(out)
    for rel in data_files(out, split):
        try:
            with store.open(rel) as f:
                pf = pq.ParquetFile(f)
                for batch in pf.iter_batches(batch_size=256, columns=columns):
                    yield from batch.to_pylist()
        except (OSError, pa.ArrowException) as e:
            raise SpatialgenError(f"{out}/{rel} is not a readable parquet shard ({type(e).__name__})") from None
