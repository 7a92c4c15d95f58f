"""What's Up (Kamath et al. 2023): one image, caption options of which the first is right."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Annotated

from pydantic import Field

from spatialgen.errors import SpatialgenError

from ..example import Example, LoadResult
from .files import LETTERS, Row, Scalar, Text, image_at, read_json, typed
from .spec import Benchmark


class WhatsUpRow(Row):
    """One item of What's Up's JSON list (amitakamath/whatsup_vlms: image_path, caption_options, the right
    caption first)."""

    image_path: Text
    caption_options: Annotated[list[Scalar], Field(min_length=2, max_length=len(LETTERS))]


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """What's Up: the first caption is the right one; options are shuffled per item with a fixed seed so
    the right letter is not always A."""
    data = read_json(path)
    if not isinstance(data, list):
        raise SpatialgenError(f"{path}: expected a list of items")
    root = images or path.parent
    res = LoadResult()
    for k, raw in enumerate(data):
        item = typed(WhatsUpRow, raw, f"{path} item {k}", res)
        if item is None:
            continue
        img = image_at(root, item.image_path, res)
        if img is None:
            continue
        caps = item.caption_options
        order = list(range(len(caps)))
        random.Random(f"whatsup-{k}").shuffle(order)
        ex = Example(
            id=f"{path.stem}-{k}",
            source="whatsup",
            images=[str(img)],
            question="Which caption describes the image?",
            options=[caps[i] for i in order],
            candidates=list(LETTERS[: len(caps)]),
            answer=LETTERS[order.index(0)],
            answer_type="multiple_choice",
            categories={"split": path.stem},
        )
        if not res.add(ex, limit):
            break
    return res


BENCHMARK = Benchmark(
    kind="whatsup",
    layout="What's Up .json (image_path, caption_options); --images: its root",
    load=load,
    images=True,
    groups=("split",),
    row=WhatsUpRow,
)
