"""Export to the layout of the paper's 2DS set (user074/2DSyntheticDataset), which its evaluation reads with
``load_dataset("parquet", data_files=...)``: rows ``{entry_id, image_filename, test_category, qa_pairs:
[{question, answer, qa_category}], objects}`` where ``image_filename`` is an ``Image`` column holding the
image bytes. Written as ``DEST/data/<split>-00000-of-00001.parquet``; ``--format json`` writes the older
``data.json`` + ``images/`` variant instead. Multiple-choice options go into the question text as "(A) x",
since 2DS has no option field.

File names never come from the data: an image is named after its row id, and only ids made of letters,
digits, '-' and '_' are accepted, so a crafted dataset cannot write outside DEST.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from spatialgen.errors import SpatialgenError
from spatialgen.generator.folder import data_files, finished, iter_rows
from spatialgen.generator.manifest import SPLITS

from .dest import check_empty, image_ext, into_new_folder, safe_id

if TYPE_CHECKING:  # datasets is imported lazily: it is slow to import
    from datasets import Features

FORMATS = ("parquet", "json")


def features() -> Features:
    """The typed features of the paper's 2DS layout: per image its file, test category, Q&A pairs, objects."""
    from datasets import Features, Image, List, Value

    s, f64, i32 = Value("string"), Value("float64"), Value("int32")
    return Features(
        {
            "entry_id": s,
            "image_filename": Image(),
            "test_category": s,
            "qa_pairs": List({"question": s, "answer": s, "qa_category": s}),
            "objects": List({"id": i32, "shape": s, "color": s, "size": s, "center": List(f64), "bbox": List(f64)}),
        }
    )


def _question_text(q: dict) -> str:
    if not q["options"]:
        return q["text"]
    opts = " ".join(f"({chr(65 + i)}) {o}" for i, o in enumerate(q["options"]))
    return f"{q['text']} {opts}"


def _entry(r: dict) -> dict:
    rid = safe_id(r["id"])
    return {
        "entry_id": rid,
        "image_filename": {"bytes": r["image"]["bytes"], "path": f"{rid}.{image_ext(r['image']['bytes'])}"},
        "test_category": r["difficulty"]["preset"],
        "qa_pairs": [
            {"question": _question_text(q), "answer": q["answer"], "qa_category": q["family"]} for q in r["questions"]
        ],
        "objects": [{k: o[k] for k in ("id", "shape", "color", "size", "center", "bbox")} for o in r["objects"]],
    }


def _prepare(out: Path, dest: Path, split: str | None, fmt: str) -> list[str]:
    finished(out)
    if fmt not in FORMATS:
        raise SpatialgenError(f"--format must be {' or '.join(FORMATS)}, got '{fmt}'")
    if split is not None and split not in SPLITS:
        raise SpatialgenError(f"--split must be one of {', '.join(SPLITS)}, got '{split}'")
    splits = [s for s in SPLITS if split in (None, s) and data_files(out, s)]
    if not splits:
        raise SpatialgenError(f"{out} has no rows in split '{split}'")
    check_empty(dest)
    return splits


def export_2ds(out: Path, dest: Path, split: str | None = None, fmt: str = "parquet", on_row=lambda: None) -> int:
    """Write the export; returns the number of entries. Files land only under ``dest``."""
    splits = _prepare(out, dest, split, fmt)
    with into_new_folder(dest):
        for s in splits:  # every name is checked before the first file is written
            for r in iter_rows(out, columns=["id"], split=s):
                safe_id(r["id"])
        return _write(out, dest, splits, fmt, on_row)


def _write(out: Path, dest: Path, splits: list[str], fmt: str, on_row) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 0
    if fmt == "parquet":
        (dest / "data").mkdir(parents=True)
        schema = features().arrow_schema
        for s in splits:
            with pq.ParquetWriter(dest / "data" / f"{s}-00000-of-00001.parquet", schema) as w:
                rows = []
                for r in iter_rows(out, split=s):
                    rows.append(_entry(r))
                    on_row()
                    if len(rows) == 256:  # streamed: memory stays flat however large the split
                        w.write_table(pa.Table.from_pylist(rows, schema=schema))
                        n, rows = n + len(rows), []
                if rows:
                    w.write_table(pa.Table.from_pylist(rows, schema=schema))
                    n += len(rows)
        return n
    (dest / "images").mkdir(parents=True)
    entries = []
    for s in splits:
        for r in iter_rows(out, split=s):
            e = _entry(r)
            image = e.pop("image_filename")
            (dest / "images" / image["path"]).write_bytes(image["bytes"])
            entries.append({**e, "image_filename": f"images/{image['path']}"})
            on_row()
    (dest / "data.json").write_text(json.dumps(entries, indent=1))
    return len(entries)
