"""VSR (Liu et al. 2023): a COCO image, a caption naming a spatial relation, true or false."""

from __future__ import annotations

from pathlib import Path

from ..example import Example, LoadResult
from .files import image_at, json_lines, statement, truth
from .spec import Benchmark


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """VSR (Liu et al. 2023) JSON lines: caption, image file, 0/1 label, relation; a true/false question per caption."""
    root = images or path.parent / "images"
    res = LoadResult()
    for k, row in enumerate(json_lines(path, res)):
        label, name, caption = truth(row.get("label")), row.get("image"), row.get("caption")
        if label is None or not name or not caption:
            res.problems["malformed row"] += 1
            continue
        img = image_at(root, name, res)
        if img is None:
            continue
        ex = Example(
            id=f"{path.stem}-{k}",
            source="vsr",
            images=[str(img)],
            question=statement(caption),
            candidates=["true", "false"],
            answer=label,
            answer_type="true_false",
            categories={"split": path.stem, "relation": str(row.get("relation", ""))},
        )
        if not res.add(ex, limit):
            break
    return res


BENCHMARK = Benchmark(
    kind="vsr",
    layout="VSR .jsonl; --images: the COCO 2017 image folder",
    load=load,
    images=True,
    groups=("split", "relation"),
)
