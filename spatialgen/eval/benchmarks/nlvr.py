"""NLVR (Suhr et al. 2017): synthetic images of shapes in three boxes, a sentence true or false."""

from __future__ import annotations

from pathlib import Path

from ..example import Example, LoadResult
from .files import confined, is_image, json_lines, statement, truth
from .spec import Benchmark


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """NLVR v1: one example per (sentence, image) pair; the six images of a row share its label."""
    folder = path if path.is_dir() else path.parent
    ann = path if path.is_file() else next(iter(sorted(folder.glob("*.json"))), folder / "dev.json")
    split = ann.stem
    root = images or folder / "images"
    res = LoadResult()
    for row in json_lines(ann, res):
        label, sid, d = truth(row.get("label")), row.get("identifier"), row.get("directory")
        if label is None or not sid or d is None or not row.get("sentence"):
            res.problems["malformed row"] += 1
            continue
        folder_d = confined(root, str(d))
        if folder_d is None or not str(sid).replace("-", "").isalnum():
            res.problems["malformed row"] += 1
            continue
        found = sorted(folder_d.glob(f"{split}-{sid}-*.png"))
        if found and not all(is_image(p) for p in found):
            res.problems["not an image"] += 1
            continue
        if not found:
            res.problems["missing image"] += 1
            continue
        for img in found:
            ex = Example(
                id=img.stem,
                source="nlvr",
                images=[str(img)],
                question=statement(row["sentence"]),
                candidates=["true", "false"],
                answer=label,
                answer_type="true_false",
                categories={"split": split},
            )
            if not res.add(ex, limit):
                return res
    return res


BENCHMARK = Benchmark(
    kind="nlvr",
    layout="NLVR v1 split folder with <split>.json and images/",
    load=load,
    images=False,
    groups=("split",),
)
