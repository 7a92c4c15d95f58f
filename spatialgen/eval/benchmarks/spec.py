"""A benchmark, declared: what ``--data KIND:PATH`` reads and how its results are reported.

In the manner of inspect_ai's ``Task`` and lmms-eval's task YAML: one small object per benchmark, in one
file of this package (discovered by name, nothing else to register). Prompt text and scoring are the
Example's own (its answer type picks the instruction; its candidates are what is scored), so a benchmark
states only how a record becomes an Example.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..example import LoadResult

Loader = Callable[[Path, Path | None, int | None], LoadResult]


@dataclass(frozen=True)
class Benchmark:
    kind: str  # the KIND of --data KIND:PATH
    layout: str  # the file layout it reads, for help texts
    load: Loader  # (path, image folder or None, limit) -> examples, problems counted
    images: bool = False  # whether it takes --images (an image folder of its own)
    groups: tuple[str, ...] = ()  # category keys the report breaks accuracy down by
    row: type | None = None  # the pydantic schema each record is validated against (files.Row), None: derived
    # An official score: the report's title for it, its columns, and the function computing its rows from
    # the per-group accuracy rows and the predictions themselves (CV-Bench's 2D/3D combination reads the
    # former; POPE's precision and recall, MMVP's pairs, the latter).
    score_title: str | None = None
    score_columns: tuple[str, ...] = ()
    score: Callable[[list[dict[str, Any]], list[dict[str, Any]]], list[dict[str, Any]]] | None = None
