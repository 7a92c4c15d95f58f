"""NLVR (Suhr et al. 2017): synthetic images of shapes in three boxes, a sentence true or false."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from spatialgen.untrusted import inside

from ..example import LoadResult
from .files import Row, Scalar, Text, TrueFalse, is_image, numbered_lines, true_false, typed
from .spec import Benchmark


class NLVRRow(Row):
    """One line of NLVR v1's <split>.json (lil-lab/nlvr: identifier "N-M", directory 1..N, sentence, label
    "true"/"false"); its images are images/<directory>/<split>-<identifier>-<0..5>.png."""

    identifier: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")]
    directory: Annotated[Scalar, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    sentence: Text
    label: TrueFalse


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """NLVR v1: one example per (sentence, image) pair; the six images of a row share its label."""
    folder = path if path.is_dir() else path.parent
    ann = path if path.is_file() else next(iter(sorted(folder.glob("*.json"))), folder / "dev.json")
    split = ann.stem
    root = images or folder / "images"
    res = LoadResult()
    for n, raw in numbered_lines(ann, res):
        row = typed(NLVRRow, raw, f"{ann} line {n}", res)
        if row is None:
            continue
        found = sorted((root / row.directory).glob(f"{split}-{row.identifier}-*.png"))
        if not all(inside(root, p) for p in found):  # a link out of the benchmark folder: never read
            res.note("malformed row", f"{ann} line {n}: an image leads outside {root}")
            continue
        if found and not all(is_image(p) for p in found):
            res.problems["not an image"] += 1
            continue
        if not found:
            res.problems["missing image"] += 1
            continue
        for img in found:
            ex = true_false(img.stem, "nlvr", [str(img)], row.sentence, row.label, {"split": split})
            if not res.add(ex, limit):
                return res
    return res


BENCHMARK = Benchmark(
    kind="nlvr",
    layout="NLVR v1 split folder with <split>.json and images/",
    load=load,
    images=False,
    groups=("split",),
    row=NLVRRow,
)
