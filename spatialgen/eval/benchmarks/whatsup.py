"""What's Up (Kamath et al. 2023): one image, caption options of which the first is right."""

from __future__ import annotations

import random
from pathlib import Path

from spatialgen.errors import SpatialgenError

from ..example import Example, LoadResult
from .files import LETTERS, image_at, read_json
from .spec import Benchmark


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """What's Up: the first caption is the right one; options are shuffled per item with a fixed seed so
    the right letter is not always A."""
    data = read_json(path)
    if not isinstance(data, list):
        raise SpatialgenError(f"{path}: expected a list of items")
    root = images or path.parent
    res = LoadResult()
    for k, item in enumerate(data):
        try:
            caps = [str(c) for c in item["caption_options"]]
            assert 2 <= len(caps) <= len(LETTERS)
            rel = item["image_path"]
        except (KeyError, TypeError, AssertionError):
            res.problems["malformed row"] += 1
            continue
        img = image_at(root, rel, res)
        if img is None:
            continue
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
)
