"""A render run from start to finish: check the folder, resume what is done, render the rest, finish.

Safe to interrupt at any point: shards land atomically, the manifest is rewritten atomically after each
one, and re-running the same command picks up exactly the missing shards; a shard that was deleted or
truncated since (its size no longer what the manifest recorded) is rendered again. One process writes a
folder at a time (spatialgen.lock). A run that fails before its first shard leaves nothing behind that
would refuse the corrected command.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from spatialgen.errors import SpatialgenError

from .backends import backend_of
from .executor import run_local
from .manifest import MANIFEST, Manifest, RunSpec, damaged_shards, read_manifest, write_manifest
from .shard import DATA
from .storage import Store


class FolderError(SpatialgenError):
    """An output folder that cannot take this run."""


def _check_folder(store: Store, spec: RunSpec) -> Manifest:
    if store.exists() and not store.isdir():
        raise FolderError(f"output {store.url} exists and is not a folder")
    try:
        old = read_manifest(store.url) if store.exists() else None
    except ValueError:
        raise FolderError(f"{store.url}/{MANIFEST} is unreadable; not a spatialgen folder, or damaged") from None
    if old is None:
        if store.listdir():
            raise FolderError(f"output {store.url} is not empty and holds no spatialgen run; choose another --out")
        return Manifest(spec=spec)
    if old.spec != spec:
        diff = "; ".join(spec.differences(old.spec)[:3])
        raise FolderError(f"output {store.url} holds a different run ({diff}); use another --out or delete it")
    return old


def _make_writable(store: Store) -> None:
    try:
        store.makedirs(DATA)
        probe = f".write-test-{os.getpid()}"
        store.write_atomic(probe, b"")
        store.rm(probe)
    except OSError as e:
        raise FolderError(f"cannot write to {store.url}: {e.strerror or e}") from None


def _clean_temporaries(store: Store) -> None:
    if store.local:  # object stores have no temporaries: each object is written in one PUT
        for rel in store.glob(".*.tmp-*") + store.glob(f"{DATA}/.*.tmp-*"):
            store.rm(rel)


def preflight(spec: RunSpec) -> None:
    """Fail fast, before touching the folder, on a config that cannot produce scenes."""
    backend_of(spec.config).preflight(spec)


def render_run(
    out: str | Path,
    spec: RunSpec,
    workers: int,
    on_progress: Callable[[int], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    finish: Callable[[str | Path, Manifest], None] | None = None,
    executor: str = "local",
    ray_address: str | None = None,
) -> Manifest:
    """Render (or complete) ``out``. ``on_start(total, already_done)`` sizes a progress bar. With the ray
    executor, ``workers`` sizes a new local cluster (ignored when ``ray_address`` names one)."""
    from spatialgen.lock import folder_lock

    preflight(spec)
    store = Store(out)
    manifest = _check_folder(store, spec)
    check_space(store, spec, manifest)
    existed, had_manifest = store.exists(), store.exists(MANIFEST)
    try:
        try:
            store.makedirs()
        except OSError as e:
            raise FolderError(f"cannot write to {store.url}: {e.strerror or e}") from None
        with folder_lock(out):
            return _run_locked(out, store, spec, workers, on_progress, on_start, finish, executor, ray_address)
    except BaseException:
        if not had_manifest:  # a manifest this run wrote, with nothing rendered, would refuse a corrected re-run
            try:
                on_disk = read_manifest(store.url)
            except (OSError, ValueError):
                on_disk = None
            if on_disk is None or not on_disk.done:
                _undo_start(store, remove_root=not existed)
        raise


def scene_bytes(spec: RunSpec) -> int:
    """About how many bytes one scene (with its twin) takes on disk, from one probe render."""
    return backend_of(spec.config).scene_bytes(spec) * (2 if spec.twins else 1)


def check_space(store: Store, spec: RunSpec, manifest: Manifest) -> None:
    """Refuse, in one line, a local run whose data cannot fit on the disk."""
    if not store.local:
        return
    import shutil

    left = spec.n - sum(len(spec.shard_range(k)) for k in manifest.done)
    if left <= 0:
        return
    probe = Path(store.root)
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    need = left * scene_bytes(spec)
    if need > free:
        raise FolderError(
            f"{spec.n:,} scenes need about {need / 1e9:,.1f} GB and {probe} has {free / 1e9:,.1f} GB free; "
            "use a smaller --n or another disk"
        )


def _undo_start(store: Store, remove_root: bool) -> None:
    """Remove what a run that rendered nothing wrote: its manifest, temporaries, data/, and the folder
    itself if the run created it."""
    try:
        for rel in (MANIFEST, *store.glob(f"{DATA}/.*"), *store.glob(f"{DATA}/*")):
            store.rm(rel)
        for rel in (DATA, *([""] if remove_root else [])):
            if store.exists(rel) and not store.listdir(rel):
                store.fs.rmdir(store.path(rel))
    except OSError:
        pass


def _run_locked(out, store, spec, workers, on_progress, on_start, finish, executor, ray_address):
    manifest = _check_folder(store, spec)  # again, now that no one else can be writing
    _make_writable(store)
    _clean_temporaries(store)
    redo = damaged_shards(store, manifest)
    for k in redo:
        del manifest.done[k]
    if redo:
        manifest.complete = False
        write_manifest(out, manifest)
    todo = [k for k in range(spec.num_shards) if k not in manifest.done]
    done_scenes = sum(len(spec.shard_range(k)) for k in manifest.done)
    if on_start:
        on_start(spec.n, done_scenes)
    if not store.exists(MANIFEST):
        write_manifest(out, manifest)

    def shard_done(k, stats):
        manifest.done[k] = stats
        write_manifest(out, manifest)

    if executor == "ray":
        from .ray_executor import run_ray

        # A 3D engine on the GPU asks Ray for one GPU per shard task (one Blender per worker process).
        gpus = backend_of(spec.config).gpus(spec)
        run_ray(spec, str(out), todo, shard_done, on_progress or (lambda _k: None), ray_address, workers, gpus)
    else:
        run_local(spec, out, todo, workers, shard_done, on_progress or (lambda _k: None))
    if not manifest.complete:
        if finish is not None:
            finish(out, manifest)
        manifest.complete = True
        write_manifest(out, manifest)
    return manifest
