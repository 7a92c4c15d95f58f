"""The local executor: shard tasks over a process pool, with a shared counter for the progress bar.

Workers write their own shards; only small statistics travel back, so memory stays flat in n.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .manifest import RunSpec, ShardStats
from .shard import render_shard

_counter = None
_threads = 0


def default_workers() -> int:
    """Render workers by default: every core the process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_workers_for(cores_per_worker: int) -> int:
    """Worker processes by default for a backend whose worker uses ``cores_per_worker`` cores (3D: one
    Blender per 4 cores, as each also runs its own denoiser and scene-update thread pools)."""
    return max(1, default_workers() // cores_per_worker)


# Rendering allocates millions of small acyclic objects (rows, questions, outlines): at Python's default
# (a young-generation pass every 700 allocations, each also walking what the process imported) the cyclic
# collector costs several per cent of a 2D render. Raised while rendering, and what was there before is
# frozen out of its passes; nothing it frees changes a byte.
GC_YOUNG = 20_000


def _lean_gc() -> None:
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])


@contextmanager
def lean_gc() -> Iterator[None]:
    """``_lean_gc`` for a render in the caller's own process, restored after."""
    old = gc.get_threshold()
    _lean_gc()
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def _init(counter, threads: int) -> None:  # runs in each worker
    global _counter, _threads
    _counter, _threads = counter, threads
    _lean_gc()
    # Ctrl-C reaches the whole process group: the parent handles it (and stops the pool); a worker that
    # raised too would print a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _tick(k: int) -> None:
    with _counter.get_lock():
        _counter.value += k


def _task(args: tuple[RunSpec, Path, int]) -> tuple[int, ShardStats]:
    spec, out, k = args
    return k, render_shard(spec, out, k, _tick, _threads)


def run_local(
    spec: RunSpec,
    out: Path,
    shards: Iterable[int],
    workers: int,
    on_shard: Callable[[int, ShardStats], None],
    on_progress: Callable[[int], None],
) -> None:
    """Render ``shards``; ``on_shard`` runs in this process as each finishes, in completion order."""
    todo = list(shards)
    if not todo:
        return
    if workers <= 1:
        with lean_gc():
            for k in todo:
                on_shard(k, render_shard(spec, out, k, on_progress, default_workers()))
        return
    ctx = mp.get_context("fork")
    counter = ctx.Value("q", 0)
    seen = 0
    n = min(workers, len(todo))
    threads = max(1, default_workers() // n)  # each worker's share of the cores (for Blender)
    with ctx.Pool(n, initializer=_init, initargs=(counter, threads)) as pool:
        results = pool.imap_unordered(_task, [(spec, out, k) for k in todo])
        while True:
            try:
                k, stats = results.next(timeout=0.2)
            except mp.TimeoutError:
                k = None
            except StopIteration:
                break
            now = counter.value
            if now != seen:
                on_progress(now - seen)
                seen = now
            if k is not None:
                on_shard(k, stats)
        if counter.value != seen:
            on_progress(counter.value - seen)
