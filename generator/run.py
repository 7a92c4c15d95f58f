"""A render run from start to finish: check the folder, resume what is done, render the rest, finish.

Safe to interrupt at any point: shards land atomically, the manifest is rewritten atomically after each
one, and re-running the same command picks up exactly the missing shards.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from spatialgen.errors import SpatialgenError
from spatialgen.scenes.example import make_example
from spatialgen.scenes.layout import check_feasible

from .executor import run_local
from .manifest import MANIFEST, Manifest, RunSpec, read_manifest, write_manifest
from .shard import DATA

PROBE_SCENES = 8


class FolderError(SpatialgenError):
    """An output folder that cannot take this run."""


def _check_folder(out: Path, spec: RunSpec) -> Manifest:
    if out.exists() and not out.is_dir():
        raise FolderError(f"output {out} exists and is not a folder")
    try:
        old = read_manifest(out) if out.exists() else None
    except ValueError:
        raise FolderError(f"{out / MANIFEST} is unreadable; it is not a spatialgen folder, or it is damaged") from None
    if old is None:
        if out.exists() and any(out.iterdir()):
            raise FolderError(f"output {out} is not empty and holds no spatialgen run; choose another --out")
        return Manifest(spec=spec)
    if old.spec != spec:
        diff = "; ".join(spec.differences(old.spec)[:3])
        raise FolderError(f"output {out} holds a different run ({diff}); use another --out or delete it")
    return old


def _make_writable(out: Path) -> None:
    try:
        (out / DATA).mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise FolderError(f"cannot write to {out}: {e.strerror or e}") from None


def _clean_temporaries(out: Path) -> None:
    for folder in (out, out / DATA):
        for p in folder.glob(".*.tmp-*"):
            p.unlink(missing_ok=True)


def preflight(spec: RunSpec) -> None:
    """Fail fast, before touching the folder, on a config that cannot produce scenes."""
    check_feasible(spec.config)
    digest = spec.config.digest()
    for i in range(min(spec.n, PROBE_SCENES)):
        make_example(spec.config, spec.seed, i, twins=spec.twins, digest=digest)


def render_run(
    out: Path,
    spec: RunSpec,
    workers: int,
    on_progress: Callable[[int], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    finish: Callable[[Path, Manifest], None] | None = None,
) -> Manifest:
    """Render (or complete) ``out``. ``on_start(total, already_done)`` sizes a progress bar."""
    preflight(spec)
    manifest = _check_folder(out, spec)
    _make_writable(out)
    _clean_temporaries(out)
    todo = [k for k in range(spec.num_shards) if k not in manifest.done]
    done_scenes = sum(len(spec.shard_range(k)) for k in manifest.done)
    if on_start:
        on_start(spec.n, done_scenes)
    if not (out / MANIFEST).exists():
        write_manifest(out, manifest)

    def shard_done(k, stats):
        manifest.done[k] = stats
        write_manifest(out, manifest)

    run_local(spec, out, todo, workers, shard_done, on_progress or (lambda _k: None))
    if not manifest.complete:
        if finish is not None:
            finish(out, manifest)
        manifest.complete = True
        write_manifest(out, manifest)
    return manifest
