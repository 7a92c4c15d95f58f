"""The local executor: shard tasks over a process pool, with a shared counter for the progress bar.

Workers write their own shards; only small statistics travel back, so memory stays flat in n.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Iterable
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


def _init(counter, threads: int) -> None:  # runs in each worker
    global _counter, _threads
    _counter, _threads = counter, threads
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
