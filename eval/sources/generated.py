"""spatialgen's own datasets: a render folder, or its Hub id. One Example per stored question."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spatialgen.errors import SpatialgenError
from spatialgen.scenes.relations import DOMAIN_2D
from spatialgen.scenes.relations3d import DOMAIN_3D

from ..example import Example, LoadResult

LETTERS = "ABCDEFGH"


def candidates_for(q: dict[str, Any], three_d: bool = False, n_objects_max: int = 16) -> list[str]:
    t = q["answer_type"]
    if t == "yes_no":
        return ["yes", "no"]
    if t == "multiple_choice":
        return list(LETTERS[: len(q["options"])])
    if t == "number":
        return [str(k) for k in range(max(n_objects_max, 40) + 1 if three_d else n_objects_max + 1)]
    # Word answers: the vocabulary of the attribute asked about, in the dataset's domain.
    return list((DOMAIN_3D if three_d else DOMAIN_2D).queries[q["program"]["relation"]])


def examples_from_row(r: dict[str, Any], source: str) -> list[Example]:
    d = r["difficulty"]
    out = []
    for q in r["questions"]:
        out.append(
            Example(
                id=f"{r['id']}/{q['qid']}",
                source=source,
                images=[r["image"]["bytes"]],
                question=q["text"],
                options=q["options"],
                candidates=candidates_for(q, "camera" in r),
                answer=q["answer"],
                answer_type=q["answer_type"],
                context=r["description"],
                categories={
                    "split": r["split"],
                    "family": q["family"],
                    "relation": q["program"]["relation"],
                    "difficulty": f"{d['level']}-{d['preset']}",
                    "answer_type": q["answer_type"],
                },
                twin_id=f"{r['twin_id']}/{q['qid']}" if r.get("twin_id") and q["probe"] else None,
                twin_role=r.get("twin_role"),
                probe=bool(q["probe"]),
            )
        )
    return out


def _rows(spec: str):
    folder = Path(spec)
    if folder.is_dir():
        from spatialgen.generator.dataset import finished, iter_rows

        finished(folder)
        yield from iter_rows(folder)
        return
    try:
        from datasets import load_dataset

        ds = load_dataset(spec)
    except Exception as e:  # the datasets library raises many types for "not found / offline"
        raise SpatialgenError(
            f"--data {spec}: not a folder, and the Hub dataset could not be loaded "
            f"({type(e).__name__}); offline, a dataset must be in the local cache"
        ) from None
    for split in ds.values():
        yield from split.cast_column("image", _raw_image())


def _raw_image():
    from datasets import Image

    return Image(decode=False)


def load_generated(spec: str, limit: int | None) -> LoadResult:
    res = LoadResult()
    name = Path(spec).name or spec
    for r in _rows(spec):
        for ex in examples_from_row(r, f"spatialgen:{name}"):
            if not res.add(ex, limit):
                return res
    return res
