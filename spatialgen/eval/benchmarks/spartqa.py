"""SpartQA-Human (Mirzaee et al. 2021): text-only stories with spatial questions."""

from __future__ import annotations

from pathlib import Path

from spatialgen.errors import SpatialgenError

from ..example import Example, LoadResult
from .files import LETTERS, read_json
from .spec import Benchmark


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """SpartQA-Human and SpaRTUN: text stories. YN questions are yes/no; FR/CO/FB questions with exactly
    one right candidate are multiple choice; questions with several right answers are counted, not used."""
    data = read_json(path)
    stories = data.get("data") if isinstance(data, dict) else data
    if not isinstance(stories, list):
        raise SpatialgenError(f"{path}: expected a 'data' list of stories")
    res = LoadResult()
    source = "spartun" if "spartun" in path.name.lower() else "spartqa"
    for s_idx, story in enumerate(stories):
        try:
            text = " ".join(story["story"]) if isinstance(story["story"], list) else str(story["story"])
            questions = story["questions"]
        except (KeyError, TypeError):
            res.problems["malformed row"] += 1
            continue
        for q in questions:
            try:
                qtype, ans, cands = q["q_type"], q["answer"], q.get("candidate_answers") or []
                qid = f"{story.get('identifier', s_idx)}-{q.get('q_id', len(res.examples))}"
                if qtype == "YN":
                    if len(ans) != 1 or str(ans[0]).lower() not in ("yes", "no"):
                        res.problems["not closed-form"] += 1
                        continue
                    ex = Example(
                        id=qid,
                        source=source,
                        question=q["question"],
                        candidates=["yes", "no"],
                        answer=str(ans[0]).lower(),
                        answer_type="yes_no",
                        context=text,
                        categories={"q_type": qtype},
                    )
                else:
                    if len(ans) != 1 or not cands:
                        res.problems["several answers"] += 1
                        continue
                    right = ans[0] if isinstance(ans[0], int) else cands.index(ans[0])
                    ex = Example(
                        id=qid,
                        source=source,
                        question=q["question"],
                        options=[str(c) for c in cands],
                        candidates=list(LETTERS[: len(cands)]),
                        answer=LETTERS[right],
                        answer_type="multiple_choice",
                        context=text,
                        categories={"q_type": qtype},
                    )
            except (KeyError, TypeError, ValueError, IndexError):
                res.problems["malformed row"] += 1
                continue
            if not res.add(ex, limit):
                return res
    return res


BENCHMARK = Benchmark(
    kind="spartqa",
    layout="SpartQA-Human .json (text only)",
    load=load,
    images=False,
    groups=("q_type",),
)
