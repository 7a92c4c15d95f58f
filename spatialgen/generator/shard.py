"""One shard: a fixed range of scene indices rendered and written as one parquet file per split.

A shard's bytes depend on the run spec and its index alone, never on which worker or machine ran it.
Each file is written to a temporary name and renamed into place, so a reader never sees half a shard.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .backends import backend_of
from .manifest import RunSpec, ShardStats
from .storage import Store

DATA = "data"
ROW_GROUP = 128


def shard_name(spec: RunSpec, k: int, split: str) -> str:
    """A shard file's path in the folder: ``data/SPLIT-K-of-N.parquet``."""
    return f"{DATA}/{split}-{k:05d}-of-{spec.num_shards:05d}.parquet"


def render_shard(
    spec: RunSpec, out: str | Path, k: int, tick: Callable[[int], None] | None = None, threads: int = 0
) -> ShardStats:
    """Render shard ``k`` and write one parquet file per split (atomically); returns its counts."""
    digest = spec.config.digest()
    backend = backend_of(spec.config)
    every = backend.progress_every
    by_split: dict[str, list[dict[str, Any]]] = {}
    pending = 0
    for i in spec.shard_range(k):
        split, rows = backend.example_rows(spec, i, digest, threads)
        by_split.setdefault(split, []).extend(rows)
        pending += 1
        if tick is not None and pending == every:
            tick(pending)
            pending = 0
    if tick is not None and pending:
        tick(pending)
    schema = backend.features().arrow_schema
    store = Store(out)
    files = {}
    for split, rows in by_split.items():
        table = pa.Table.from_pylist(rows, schema=schema)
        buf = io.BytesIO()
        pq.write_table(table, buf, row_group_size=ROW_GROUP, compression="zstd")
        store.write_atomic(shard_name(spec, k, split), buf.getvalue())
        files[shard_name(spec, k, split)] = len(buf.getvalue())
    return ShardStats(
        rows={s: len(r) for s, r in sorted(by_split.items())},
        questions=sum(len(r["questions"]) for rows in by_split.values() for r in rows),
        files=dict(sorted(files.items())),
    )
