"""VSR (Liu et al. 2023): a COCO image, a caption naming a spatial relation, true or false."""

from __future__ import annotations

from pathlib import Path

from ..example import LoadResult
from .files import Row, Text, TrueFalse, image_at, numbered_lines, true_false, typed
from .spec import Benchmark


class VSRRow(Row):
    """One line of VSR's jsonl (cambridgeltl/visual-spatial-reasoning: image, caption, label 0/1, relation)."""

    image: Text
    caption: Text
    label: TrueFalse
    relation: str = ""


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """VSR (Liu et al. 2023) JSON lines: caption, image file, 0/1 label, relation; a true/false question per caption."""
    root = images or path.parent / "images"
    res = LoadResult()
    for k, (n, raw) in enumerate(numbered_lines(path, res)):
        row = typed(VSRRow, raw, f"{path} line {n}", res)
        if row is None:
            continue
        img = image_at(root, row.image, res)
        if img is None:
            continue
        cats = {"split": path.stem, "relation": row.relation}
        ex = true_false(f"{path.stem}-{k}", "vsr", [str(img)], row.caption, row.label, cats)
        if not res.add(ex, limit):
            break
    return res


BENCHMARK = Benchmark(
    kind="vsr",
    layout="VSR .jsonl; --images: the COCO 2017 image folder",
    load=load,
    images=True,
    groups=("split", "relation"),
    row=VSRRow,
)
