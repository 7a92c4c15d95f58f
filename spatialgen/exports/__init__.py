"""Exports: a rendered folder written in the layouts other tools read, each into a new folder of its own.

``twods``: the paper's 2DS set (``spatialgen export-2ds``). ``clevr``: CLEVR's scenes, questions with
functional programs, metadata and images. ``vlmevalkit``: VLMEvalKit's dataset TSV. ``lmmseval``: an
lmms-eval task (its YAML and ``lmms_task_utils`` as utils.py). ``dest``: the new-folder rule they share (no
overwriting, nothing written outside DEST, nothing left half-written).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from spatialgen.errors import SpatialgenError
from spatialgen.generator.folder import data_files, finished, iter_rows
from spatialgen.generator.manifest import SPLITS

from .dest import into_new_folder, safe_id

FORMATS = ("clevr", "vlmevalkit", "lmms-eval")


def export(
    folder: Path,
    dest: Path,
    fmt: str,
    split: str | None = None,
    name: str = "spatialgen",
    dataset: str | None = None,
    on_row: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Write ``folder`` in format ``fmt`` into the new folder ``dest``; returns what was written (counts)."""
    finished(folder)
    if fmt not in FORMATS:
        raise SpatialgenError(f"--format must be one of {', '.join(FORMATS)}, got '{fmt}'")
    if fmt == "lmms-eval":
        split = split or "test"
    splits = [s for s in SPLITS if split in (None, s) and data_files(folder, s)]
    if not splits:
        raise SpatialgenError(f"{folder} has no rows in split '{split}'")
    with into_new_folder(dest):
        if fmt == "lmms-eval":
            from . import lmmseval

            return lmmseval.write(dest, name, dataset or str(Path(folder).resolve()), splits[0])
        for s in splits:  # every name is checked before the first file is written
            for r in iter_rows(folder, columns=["id"], split=s):
                safe_id(r["id"])
        if fmt == "clevr":
            from . import clevr

            return clevr.write(folder, dest, splits, on_row)
        from . import vlmevalkit

        return vlmevalkit.write(folder, dest, splits, name, on_row)
