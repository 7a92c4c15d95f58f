"""SpartQA-Human (Mirzaee et al. 2021): text-only stories with spatial questions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from spatialgen.errors import SpatialgenError

from ..example import Example, LoadResult
from .files import LETTERS, Row, Scalar, Text, read_json, typed
from .spec import Benchmark

MAX_STORY = 200_000  # characters in one story (SpartQA-Human's longest is under 3,000)


class SpartQAQuestion(Row):
    """One question of a story (HLR/SpartQA_generation, human_test.json): q_type YN/FR/CO/FB, the question,
    its answers (words for YN, candidate indices or words otherwise) and the candidates ("" for YN)."""

    q_type: Text
    question: Text
    answer: Annotated[list[Annotated[int, Field(ge=0, strict=True)] | Text], Field(max_length=64)]
    candidate_answers: Annotated[list[Scalar], Field(max_length=len(LETTERS))] | Annotated[str, Field(max_length=0)]
    q_id: Scalar | None = None


class SpartQAStory(Row):
    """One story: its text (a list of paragraphs or one string), its questions, its identifier."""

    story: Annotated[list[Text], Field(max_length=64)] | Annotated[str, Field(min_length=1, max_length=MAX_STORY)]
    questions: list[dict]
    identifier: Scalar | None = None


def _example(q: SpartQAQuestion, qid: str, source: str, text: str, res: LoadResult) -> Example | None:
    """YN questions are yes/no; the others are multiple choice when exactly one candidate is right."""
    base = {"id": qid, "source": source, "question": q.question, "context": text, "categories": {"q_type": q.q_type}}
    if q.q_type == "YN":
        if len(q.answer) != 1 or str(q.answer[0]).lower() not in ("yes", "no"):
            res.problems["not closed-form"] += 1
            return None
        return Example(**base, candidates=["yes", "no"], answer=str(q.answer[0]).lower(), answer_type="yes_no")
    cands = q.candidate_answers or []
    if len(q.answer) != 1 or not cands:
        res.problems["several answers"] += 1
        return None
    right = q.answer[0] if isinstance(q.answer[0], int) else (cands.index(q.answer[0]) if q.answer[0] in cands else -1)
    if not 0 <= right < len(cands):
        res.note("malformed row", f"question {qid}: its answer is none of its {len(cands)} candidates")
        return None
    return Example(
        **base,
        options=list(cands),
        candidates=list(LETTERS[: len(cands)]),
        answer=LETTERS[right],
        answer_type="multiple_choice",
    )


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """SpartQA-Human and SpaRTUN: text stories. YN questions are yes/no; FR/CO/FB questions with exactly
    one right candidate are multiple choice; questions with several right answers are counted, not used."""
    data = read_json(path)
    stories = data.get("data") if isinstance(data, dict) else data
    if not isinstance(stories, list):
        raise SpatialgenError(f"{path}: expected a 'data' list of stories")
    res = LoadResult()
    source = "spartun" if "spartun" in path.name.lower() else "spartqa"
    for s_idx, raw in enumerate(stories):
        story = typed(SpartQAStory, raw, f"{path} story {s_idx}", res)
        if story is None:
            continue
        text = " ".join(story.story) if isinstance(story.story, list) else story.story
        for k, raw_q in enumerate(story.questions):
            q = typed(SpartQAQuestion, raw_q, f"{path} story {s_idx} question {k}", res)
            if q is None:
                continue
            qid = f"{story.identifier if story.identifier is not None else s_idx}-"
            qid += q.q_id if q.q_id is not None else str(len(res.examples))
            ex = _example(q, qid, source, text, res)
            if ex is not None and not res.add(ex, limit):
                return res
    return res


BENCHMARK = Benchmark(
    kind="spartqa",
    layout="SpartQA-Human .json (text only)",
    load=load,
    images=False,
    groups=("q_type",),
    row=SpartQAStory,
)
