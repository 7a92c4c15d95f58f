"""A dataset row's frame, the same for every domain: one image (or more) with its id, index, split, twin
link and size, the scene's questions and its description, around what a domain stores of its own (2D:
``objects``; 3D: ``objects``, ``camera``, ``lights``) and its ``difficulty`` and ``render`` settings.

Key order is column order in the parquet shards, so it is part of a run's bytes: the frame puts a
domain's images after ``id``, its scene fields after ``height`` and its settings after ``description``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spatialgen.scenes.example import View

if TYPE_CHECKING:  # datasets is imported lazily: it is slow to import
    from datasets import Features, List


def question_features() -> List:
    """The questions column (a list of question structs with their programs)."""
    from datasets import List, Value

    i32, s = Value("int32"), Value("string")
    program = {
        "family": s,
        "relation": s,
        "objects": List(i32),
        "color": s,
        "shape": s,
        "choices": List(s),
        "answer": s,
        "steps": List({"function": s, "value": s}),
    }
    return List(
        {
            "qid": s,
            "family": s,
            "text": s,
            "answer": s,
            "answer_type": s,
            "options": List(s),
            "probe": Value("bool"),
            "candidates": List(s),
            "program": program,
        }
    )


def features(images: tuple[str, ...], scene: dict[str, Any], settings: dict[str, Any]) -> Features:
    """The typed features of a domain's rows (``datasets.Features``): the frame around its image columns,
    its scene fields and its settings (difficulty, render)."""
    from datasets import Features, Image, Value

    i32, s = Value("int32"), Value("string")
    return Features(
        {
            "id": s,
            **{name: Image() for name in images},
            "index": Value("int64"),
            "split": s,
            "twin_id": s,
            "twin_role": s,
            "width": i32,
            "height": i32,
            **scene,
            "questions": question_features(),
            "description": s,
            **settings,
        }
    )


def row(
    *,
    rid: str,
    images: dict[str, Any],
    index: int,
    split: str,
    twin_id: str | None,
    twin_role: str | None,
    size: tuple[int, int],
    scene: dict[str, Any],
    view: View,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """One row in the frame's column order: ``images`` maps each image column to its {bytes, path} (or
    None), ``size`` is (width, height)."""
    return {
        "id": rid,
        **images,
        "index": index,
        "split": split,
        "twin_id": twin_id,
        "twin_role": twin_role,
        "width": size[0],
        "height": size[1],
        **scene,
        "questions": [q.to_dict() for q in view.questions],
        "description": view.description,
        **settings,
    }
