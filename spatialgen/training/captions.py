"""Grounding captions: one per training scene, from its stored scene graph, for a model trained from scratch.

A yes/no question about two named objects ("Is the red circle left of the blue square?") chains steps: find
the object each word names, read its position, compare. Trained on such questions alone, a language model
that starts from random weights does not learn the first step: until it finds the named object, no
position it reads predicts the answer, and until a position predicts the answer nothing rewards finding the
object. A caption puts each object's words right before its position words ("red circle left top, blue
square right bottom"), so the position is predicted at the object's own last word: finding the named
object is rewarded directly, as LLaVA's stage-1 caption data does for a pretrained model. Trained on as
answers, never scored. bench/probes/binding_synthetic.py measures both (README "Training").

Positions are the halves of the image the box centre falls in (bounding boxes in pixels, both domains);
the order of the objects is shuffled per scene from the training seed, so no word order stands in for a
position.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from spatialgen.eval.example import Example

PROMPT = "caption"
ANSWER_TYPE = "caption"  # no answer instruction is added to the prompt (prompts.INSTRUCTIONS has none)
COLUMNS = ["id", "image", "width", "height", "objects"]  # what a caption is built from, per stored row


def in_caption_order(r: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """The row's objects in the order its caption for ``seed`` names them (shuffled per row and seed)."""
    return random.Random(f"{seed}/{r['id']}").sample(r["objects"], len(r["objects"]))


def halves(r: dict[str, Any], o: dict[str, Any]) -> tuple[str, str]:
    """The halves of the row's image the object's box centre is in: (left|right, top|bottom)."""
    x0, y0, x1, y1 = o["bbox"]
    left, top = (x0 + x1) / 2 < r["width"] / 2, (y0 + y1) / 2 < r["height"] / 2
    return "left" if left else "right", "top" if top else "bottom"


ORDERS = ("color-shape-place", "color-place-shape")


def caption(r: dict[str, Any], seed: int, order: str = ORDERS[0]) -> str:
    """The scene's objects in their caption order, each as "color shape left|right top|bottom" (or, with
    ``order="color-place-shape"``, "color left|right top|bottom shape": the place is then asked right after
    the color word, which bench/probes/binding_synthetic.py --pixels shows matters when shapes are not read)."""
    if order not in ORDERS:
        raise ValueError(f"caption order {order!r}: choose one of {', '.join(ORDERS)}")
    words = "{color} {shape} {place}" if order == ORDERS[0] else "{color} {place} {shape}"
    return ", ".join(
        words.format(color=o["color"], shape=o["shape"], place=" ".join(halves(r, o)))
        for o in in_caption_order(r, seed)
    )


def caption_examples(
    rows: Iterable[dict[str, Any]], seed: int, source: str = "captions", order: str = ORDERS[0]
) -> list[Example]:
    """One caption example per row (id, image, width, height, objects with color, shape and bbox)."""
    out = []
    for r in rows:
        if not r["objects"]:
            continue
        text = caption(r, seed, order)
        out.append(
            Example(
                id=f"{r['id']}/caption",
                source=source,
                images=[r["image"]["bytes"]],
                question=PROMPT,
                candidates=[text],
                answer=text,
                answer_type=ANSWER_TYPE,
                categories={"family": "caption"},
            )
        )
    return out
