"""COCO Captions (Chen et al. 2015): images with five human captions each, what the paper's ``norms`` probe
embeds as text (diagnostic_tools/vlm_token_norms.py reads ``annotations/captions_val2017.json`` through
pycocotools). For ``diagnose`` only: it asks no question, so ``eval`` refuses it.

Layout (COCO's annotation format): one JSON object with ``images`` ([{id, file_name, ...}]) and
``annotations`` ([{id, image_id, caption}]); images are ``file_name`` in the split's folder (``--images``,
by default ``../val2017`` beside ``annotations/``). Images in the file's order, each with its captions in the
file's order, as pycocotools' getImgIds / getAnnIds give them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from spatialgen.errors import SpatialgenError

from ..example import Example, LoadResult
from .files import Row, Text, image_at, read_json, typed
from .spec import Benchmark

CAPTION = "caption"  # the answer type of a captioned image: nothing to score


class CocoImage(Row):
    id: Annotated[int, Field(ge=0)]
    file_name: Text


class CocoCaption(Row):
    image_id: Annotated[int, Field(ge=0)]
    caption: Text


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """Each image with its captions (images without one are skipped, counted)."""
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise SpatialgenError(f"{path}: not a COCO captions file (an object with images and annotations)")
    res = LoadResult()
    captions: dict[int, list[str]] = {}
    for k, raw in enumerate(data.get("annotations") or []):
        ann = typed(CocoCaption, raw, f"{path} annotation {k}", res)
        if ann is not None:
            captions.setdefault(ann.image_id, []).append(ann.caption.strip())
    root = images or path.parent.parent / "val2017"
    for k, raw in enumerate(data["images"]):
        info = typed(CocoImage, raw, f"{path} image {k}", res)
        if info is None:
            continue
        if info.id not in captions:
            res.problems["image without captions"] += 1
            continue
        img = image_at(root, info.file_name, res)
        if img is None:
            continue
        caps = captions[info.id]
        ex = Example(
            id=str(info.id),
            source="coco-captions",
            images=[str(img)],
            question="Describe the image.",
            candidates=[caps[0]],
            answer=caps[0],
            answer_type=CAPTION,
            captions=caps,
        )
        if not res.add(ex, limit):
            break
    return res


BENCHMARK = Benchmark(
    kind="coco-captions",
    layout="COCO captions .json (annotations/captions_val2017.json); --images: the val2017 folder (diagnose only)",
    load=load,
    images=True,
    row=CocoCaption,
)
