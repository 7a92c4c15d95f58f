"""spatialgen's own datasets: a render folder, or its Hub id. One Example per stored question.

Candidates are read from the data: every question stores its answer domain (``candidates``), written by
the generator from the run's config, so a count in a 64-object scene is scored among 0..64.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spatialgen.errors import SpatialgenError
from spatialgen.generator.manifest import SPLITS

from ..example import Example, LoadResult


def question_candidates(q: dict[str, Any], where: str) -> list[str]:
    """The stored answer domain; the answer must be one of its members."""
    cands = q.get("candidates")
    if not cands:
        raise SpatialgenError(
            f"{where}: question {q.get('qid')} stores no answer domain (candidates); the dataset predates "
            "spatialgen 0.2: re-render it with this version"
        )
    cands = [str(c) for c in cands]
    if q["answer"] not in cands:
        raise SpatialgenError(
            f"{where}: the answer '{q['answer']}' of question {q.get('qid')} is not among its candidates"
        )
    return cands


def examples_from_row(r: dict[str, Any], source: str) -> list[Example]:
    """A rendered row's questions as Examples (twins linked, the description kept for text-only controls)."""
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
                candidates=question_candidates(q, f"{source} row {r['id']}"),
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


def _rows(spec: str, split: str):
    folder = Path(spec)
    if folder.is_dir():
        from spatialgen.generator.folder import finished, iter_rows

        finished(folder)
        yield from iter_rows(folder, split=None if split == "all" else split)
        return
    try:
        from datasets import concatenate_datasets, load_dataset

        ds = load_dataset(spec)
        ds = concatenate_datasets([ds[s] for s in SPLITS if s in ds]) if split == "all" else ds[split]
    except Exception as e:  # the datasets library raises many types for "not found / offline"
        raise SpatialgenError(
            f"--data {spec}: not a folder, and split '{split}' of the Hub dataset could not be loaded "
            f"({type(e).__name__}); offline, a dataset must be in the local cache"
        ) from None
    yield from ds.cast_column("image", _raw_image())


def _raw_image():
    from datasets import Image

    return Image(decode=False)


def load_generated(spec: str, limit: int | None, split: str = "test") -> LoadResult:
    """Examples of one split (``all``: every split, in split order) of a render folder or Hub dataset."""
    if split not in (*SPLITS, "all"):
        raise SpatialgenError(f"--split must be one of {', '.join(SPLITS)} or all, got '{split}'")
    res = LoadResult()
    name = Path(spec).name or spec
    for r in _rows(spec, split):
        for ex in examples_from_row(r, f"spatialgen:{name}"):
            if not res.add(ex, limit):
                return res
    return res
