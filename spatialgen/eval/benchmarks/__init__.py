"""Public benchmarks, one declaration per file: ``BENCHMARK = Benchmark(...)`` in a module of this package
is all it takes for ``--data KIND:PATH``, the help texts, the report's breakdowns and any official score to
know it (README, "Adding a benchmark"). ``files`` holds the readers they share; ``spec`` the declaration.
"""

from __future__ import annotations

import importlib
import pkgutil

from .spec import Benchmark

_SHARED = {"files", "spec"}


def _discover() -> dict[str, Benchmark]:
    found: dict[str, Benchmark] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _SHARED or info.name.startswith("_"):
            continue
        b = importlib.import_module(f"{__name__}.{info.name}").BENCHMARK
        if b.kind in found:
            raise RuntimeError(f"two benchmarks declare kind '{b.kind}'")
        found[b.kind] = b
    return found


BENCHMARKS: dict[str, Benchmark] = _discover()
WITH_IMAGES: tuple[str, ...] = tuple(k for k, b in BENCHMARKS.items() if b.images)

__all__ = ["BENCHMARKS", "WITH_IMAGES", "Benchmark"]
