"""A shard streams to its files a row group at a time: the same bytes as writing its whole table at once,
memory that does not grow with the shard, and nothing left behind when it fails half way."""

from __future__ import annotations

import io
import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spatialgen.generator import shard as shard_mod
from spatialgen.generator.backends import backend_of
from spatialgen.generator.manifest import RunSpec
from spatialgen.generator.shard import DATA, ROW_GROUP, render_shard, shard_name
from spatialgen.scenes.config import load_preset


def _spec(per_shard: int, twins: bool = False, splits: dict[str, float] | None = None) -> RunSpec:
    p = load_preset("easy")
    return RunSpec(
        n=per_shard * 2,
        seed=11,
        preset=p.name,
        level=p.level,
        twins=twins,
        scenes_per_shard=per_shard,
        config=p.config,
        **({"splits": splits} if splits else {}),
    )


@pytest.mark.parametrize("twins", [False, True])
def test_streamed_shard_is_the_whole_table_written_at_once(tmp_path, twins):
    # 300 scenes: more than two row groups in train, and (twins) rows arriving two at a time
    spec = _spec(300, twins)
    stats = render_shard(spec, tmp_path, 1)
    schema = backend_of(spec.config).features().arrow_schema
    for split, n in stats.rows.items():
        path = tmp_path / shard_name(spec, 1, split)
        table = pq.read_table(path)
        assert table.num_rows == n
        groups = [
            pq.ParquetFile(path).metadata.row_group(g).num_rows for g in range(pq.ParquetFile(path).num_row_groups)
        ]
        assert groups == [ROW_GROUP] * (n // ROW_GROUP) + ([n % ROW_GROUP] if n % ROW_GROUP else [])
        buf = io.BytesIO()  # how shards were written before they streamed
        pq.write_table(
            pa.Table.from_pylist(table.to_pylist(), schema=schema), buf, row_group_size=ROW_GROUP, compression="zstd"
        )
        assert path.read_bytes() == buf.getvalue()
        assert stats.files[shard_name(spec, 1, split)] == path.stat().st_size


def _peak(spec: RunSpec, folder) -> int:
    tracemalloc.start()
    try:
        render_shard(spec, folder, 0)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_shard(tmp_path):
    # One split, so its row groups fill in both shards. Holding a shard's rows until its end (as before)
    # made the peak grow with it (measured: 3.6x for 5x the scenes); streamed, a worker holds one row
    # group per split whatever the shard's size.
    train = {"train": 1.0}
    render_shard(_spec(2 * ROW_GROUP, splits=train), tmp_path / "warm", 0)  # imports and caches, not measured
    small = _peak(_spec(ROW_GROUP + 8, splits=train), tmp_path / "small")
    large = _peak(_spec(5 * ROW_GROUP, splits=train), tmp_path / "large")
    assert large < 1.5 * small, (small, large)  # measured 1.15x


def test_a_shard_that_fails_half_way_leaves_nothing(tmp_path, monkeypatch):
    spec = _spec(ROW_GROUP * 2)
    backend = backend_of(spec.config)
    calls = []

    class Failing:
        def __getattr__(self, name):
            return getattr(backend, name)

        def example_rows(self, *a):
            calls.append(1)
            if len(calls) > ROW_GROUP + 20:  # after the first row group reached the file
                raise RuntimeError("boom")
            return backend.example_rows(*a)

    monkeypatch.setattr(shard_mod, "backend_of", lambda cfg: Failing())
    with pytest.raises(RuntimeError, match="boom"):
        render_shard(spec, tmp_path, 0)
    assert list((tmp_path / DATA).iterdir()) == []
