"""The run manifest: what was asked for (the run spec) and which shards are finished.

It carries no timestamps, so a finished folder is the same bytes however often it was resumed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from spatialgen import __version__
from spatialgen.scenes.config import AnyConfig
from spatialgen.scenes.rng import Rng

from .storage import Store

SPLITS = ("train", "validation", "test")  # in this order: split_of draws against their ratios

MANIFEST = "manifest.json"
MAX_SHARD = 1000


def default_shard_size(n: int) -> int:
    """Up to 1,000 scenes a shard, and at least 8 shards for small runs so that workers share them."""
    return max(1, min(MAX_SHARD, math.ceil(n / 8)))


class RunSpec(BaseModel):
    """Everything that decides the bytes of a run. Two runs with equal specs write identical folders."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int = Field(gt=0)
    seed: int
    preset: str
    level: int
    twins: bool = False
    format: str = "png"
    jpeg_quality: int = 90
    splits: dict[str, float] = Field(default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1})
    scenes_per_shard: int
    config: AnyConfig
    version: str = __version__

    @property
    def num_shards(self) -> int:
        return math.ceil(self.n / self.scenes_per_shard)

    def shard_range(self, k: int) -> range:
        return range(k * self.scenes_per_shard, min(self.n, (k + 1) * self.scenes_per_shard))

    def differences(self, other: RunSpec) -> list[str]:
        a, b = self.model_dump(mode="json"), other.model_dump(mode="json")
        return [
            f"{k}: {b[k]!r} there, {a[k]!r} now" if k != "config" else "config differs" for k in a if a[k] != b.get(k)
        ]


class ShardStats(BaseModel):
    rows: dict[str, int]
    questions: int
    files: dict[str, int] = Field(default_factory=dict)  # relative path -> size in bytes, checked on re-run


class Manifest(BaseModel):
    spec: RunSpec
    done: dict[int, ShardStats] = Field(default_factory=dict)
    complete: bool = False

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.done.values():
            for split, k in s.rows.items():
                out[split] = out.get(split, 0) + k
        return out


def _looks_like_parquet(store: Store, rel: str, size: int) -> bool:
    """Parquet files start and end with b"PAR1": a cheap check that catches overwritten or zeroed shards."""
    with store.open(rel) as f:
        head = f.read(4)
        f.seek(size - 4)
        return head == b"PAR1" and f.read(4) == b"PAR1"


def damaged_shards(store: Store, manifest: Manifest) -> list[int]:
    """Finished shards whose files are missing, not the size the manifest recorded, or not parquet."""
    bad = []
    for k, stats in manifest.done.items():
        for rel, size in stats.files.items():
            if (
                not store.exists(rel)
                or store.fs.size(store.path(rel)) != size
                or not _looks_like_parquet(store, rel, size)
            ):
                bad.append(k)
                break
    return sorted(bad)


def read_manifest(folder: str | Path) -> Manifest | None:
    """The folder's manifest, or None if it has none yet."""
    store = Store(folder)
    if not store.exists(MANIFEST):
        return None
    return Manifest.model_validate_json(store.read_bytes(MANIFEST))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file through a temporary name and a rename, so no reader sees half of it."""
    Store(path.parent).write_atomic(path.name, data)


def write_manifest(folder: str | Path, m: Manifest) -> None:
    """Write the manifest atomically (no timestamps: a resumed folder is the same bytes)."""
    data = m.model_dump(mode="json")
    data["done"] = {str(k): v.model_dump() for k, v in sorted(m.done.items())}
    Store(folder).write_atomic(MANIFEST, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())


def run_spec(request: Any, preset: str, level: int, config: Any) -> RunSpec:
    """The one place a render request (spatialgen/requests.py RenderRequest: n, seed, twins, format,
    jpeg_quality) becomes the spec that decides a run's bytes, for the API and studies alike."""
    asked = request.model_dump(include={"n", "seed", "twins", "format", "jpeg_quality"})
    return RunSpec(**asked, preset=preset, level=level, scenes_per_shard=default_shard_size(request.n), config=config)


def split_of(spec: RunSpec, index: int) -> str:
    """Deterministic per-scene split, independent of n: scene i is in the same split in every run."""
    u = Rng("split", spec.seed, index).random()
    acc = 0.0
    total = sum(spec.splits.values())
    for name in SPLITS:
        acc += spec.splits.get(name, 0.0) / total
        if u < acc:
            return name
    return [s for s in SPLITS if spec.splits.get(s, 0) > 0][-1]
