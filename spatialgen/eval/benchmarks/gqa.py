"""GQA (Hudson & Manning 2019): compositional questions about real images, answered with a word or phrase;
its official score is accuracy (exact match), broken down by the question's structural and semantic type.

Layout: GQA's own question files (``testdev_balanced_questions.json``, as the paper's harness ships it): one
JSON object keyed by question id, each record with imageId, question, answer and types (structural: verify,
query, choose, logical, compare; semantic: obj, attr, cat, rel, global); the images are
``<imageId>.jpg`` in GQA's image folder (``--images``). Open questions: ``eval --mode generate`` only.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from spatialgen.errors import SpatialgenError

from ..example import Example, LoadResult, open_answer
from ..prompts import INSTRUCTIONS
from .files import Images, Row, Scalar, Text, read_json, typed
from .spec import Benchmark


class Types(BaseModel):
    structural: str = ""
    semantic: str = ""
    detailed: str = ""


class GQARecord(Row):
    """One question of GQA's questions JSON (the value under its question id)."""

    imageId: Scalar
    question: Text
    answer: Text
    types: Types = Types()


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """GQA questions as open questions; the answer is compared as ``open_answer`` normalizes both."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise SpatialgenError(f"{path}: expected GQA's questions JSON (an object keyed by question id)")
    folder = Images(images or path.parent / "images")
    res = LoadResult()
    for qid, raw in data.items():
        rec = typed(GQARecord, raw, f"{path} question {qid}", res)
        if rec is None:
            continue
        img = folder.at(f"{rec.imageId}.jpg", res)
        if img is None:
            continue
        answer = open_answer(rec.answer)
        ex = Example(
            id=str(qid),
            source="gqa",
            images=[str(img)],
            question=rec.question,
            candidates=[answer],
            answer=answer,
            answer_type="open",
            categories={"structural": rec.types.structural, "semantic": rec.types.semantic},
            # the paper's harness (evaluation/eval/eval_gqa.py) adds LLaVA-1.5's short-answer instruction
            paper_prompt=f"{rec.question}\n{INSTRUCTIONS['open']}",
        )
        if not res.add(ex, limit):
            break
    return res


BENCHMARK = Benchmark(
    kind="gqa",
    layout="GQA questions .json (e.g. testdev_balanced_questions.json); --images: GQA's image folder",
    load=load,
    images=True,
    groups=("structural", "semantic"),
    row=GQARecord,
)
