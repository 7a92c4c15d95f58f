"""One shard: a fixed range of scene indices rendered and written as one parquet file per split.

A shard's bytes depend on the run spec and its index alone, never on which worker or machine ran it.
Each file is written to a temporary name and renamed into place, so a reader never sees half a shard.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

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
    """Render shard ``k`` and write one parquet file per split (atomically); returns its counts.

    Rows stream to their file a row group at a time, so a worker holds at most one row group per split,
    whatever the shard's size (the same bytes as writing the whole table with that row-group size)."""
    digest = spec.config.digest()
    backend = backend_of(spec.config)
    every = backend.progress_every
    schema = backend.features().arrow_schema
    store = Store(out)
    rows: dict[str, int] = {}
    questions = 0
    with ExitStack() as stack:
        files: dict[str, IO[bytes]] = {}
        writers: dict[str, pq.ParquetWriter] = {}
        pending: dict[str, list[dict[str, Any]]] = {}

        def flush(split: str, upto: int) -> None:
            group, pending[split] = pending[split][:upto], pending[split][upto:]
            writers[split].write_table(pa.Table.from_pylist(group, schema=schema), row_group_size=ROW_GROUP)

        done = 0
        for i in spec.shard_range(k):
            split, new = backend.example_rows(spec, i, digest, threads)
            if split not in writers:
                files[split] = stack.enter_context(store.atomic_file(shard_name(spec, k, split)))
                writers[split] = stack.enter_context(pq.ParquetWriter(files[split], schema, compression="zstd"))
                pending[split] = []
            pending[split].extend(new)
            rows[split] = rows.get(split, 0) + len(new)
            questions += sum(len(r["questions"]) for r in new)
            if len(pending[split]) >= ROW_GROUP:
                flush(split, ROW_GROUP)
            done += 1
            if tick is not None and done == every:
                tick(done)
                done = 0
        if tick is not None and done:
            tick(done)
        sizes = {}
        for split in sorted(writers):
            if pending[split]:
                flush(split, len(pending[split]))
            writers[split].close()
            sizes[shard_name(spec, k, split)] = files[split].tell()
    return ShardStats(rows=dict(sorted(rows.items())), questions=questions, files=dict(sorted(sizes.items())))
