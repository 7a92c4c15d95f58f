"""NLVR2 (Suhr et al. 2019): two real photographs, a sentence true or false of the pair."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from spatialgen.untrusted import inside

from ..example import LoadResult
from .files import Row, Text, TrueFalse, is_image, numbered_lines, true_false, typed
from .spec import Benchmark


class NLVR2Row(Row):
    """One line of NLVR2's <split>.json (lil-lab/nlvr, nlvr2/data: identifier "<split>-<set>-<pair>-<n>",
    sentence, label "True"/"False"); its images are <identifier less its last part>-img0/1.<ext>."""

    identifier: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
    sentence: Text
    label: TrueFalse


def _image(root: Path, name: str) -> Path | None:
    """``root/name.<png|jpg|jpeg>``, else the first match below ``root`` (the release's train images sit in
    numbered subfolders); None if there is none inside ``root`` once links are followed."""
    for ext in (".png", ".jpg", ".jpeg"):
        if (root / f"{name}{ext}").exists():
            return root / f"{name}{ext}"
    return next(iter(root.rglob(f"{name}.*")), None) if root.exists() else None


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """NLVR2: two images per example, ``<identifier without its last part>-img0/1.<ext>``."""
    root = images or path.parent / "images"
    res = LoadResult()
    for n, raw in numbered_lines(path, res):
        row = typed(NLVR2Row, raw, f"{path} line {n}", res)
        if row is None:
            continue
        stem = row.identifier.rsplit("-", 1)[0]
        pair = [_image(root, f"{stem}-img{k}") for k in (0, 1)]
        if None in pair:
            res.problems["missing image"] += 1
            continue
        if not all(inside(root, p) for p in pair):  # a link out of the image folder: never read
            res.note("malformed row", f"{path} line {n}: an image leads outside {root}")
            continue
        if not all(is_image(p) for p in pair):
            res.problems["not an image"] += 1
            continue
        note = " The first image is the left image, the second the right image."
        ex = true_false(
            row.identifier, "nlvr2", [str(p) for p in pair], row.sentence, row.label, {"split": path.stem}, note
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
    row=NLVR2Row,
)
