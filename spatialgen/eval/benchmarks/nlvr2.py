"""NLVR2 (Suhr et al. 2019): two real photographs, a sentence true or false of the pair."""

from __future__ import annotations

from pathlib import Path

from ..example import Example, LoadResult
from .files import is_image, json_lines, statement, truth
from .spec import Benchmark


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """NLVR2: two images per example, ``<identifier without its last part>-img0/1.<ext>``."""
    root = images or path.parent / "images"
    res = LoadResult()
    for row in json_lines(path, res):
        label, ident = truth(row.get("label")), row.get("identifier")
        if label is None or not ident or not row.get("sentence"):
            res.problems["malformed row"] += 1
            continue
        stem = str(ident).rsplit("-", 1)[0]
        if not stem.replace("-", "").replace("_", "").isalnum():
            res.problems["malformed row"] += 1
            continue
        pair = []
        for k in (0, 1):
            hit = next(
                (
                    root / f"{stem}-img{k}{ext}"
                    for ext in (".png", ".jpg", ".jpeg")
                    if (root / f"{stem}-img{k}{ext}").exists()
                ),
                None,
            )
            if hit is None:
                hit = next(iter(root.rglob(f"{stem}-img{k}.*")), None) if root.exists() else None
            pair.append(hit)
        if None in pair:
            res.problems["missing image"] += 1
            continue
        if not all(is_image(p) for p in pair):
            res.problems["not an image"] += 1
            continue
        q = statement(row["sentence"]) + " The first image is the left image, the second the right image."
        ex = Example(
            id=ident,
            source="nlvr2",
            images=[str(p) for p in pair],
            question=q,
            candidates=["true", "false"],
            answer=label,
            answer_type="true_false",
            categories={"split": path.stem},
        )
        if not res.add(ex, limit):
            break
    return res


BENCHMARK = Benchmark(
    kind="nlvr2",
    layout="NLVR2 <split>.json; --images: the folder of its images",
    load=load,
    images=True,
    groups=("split",),
)
