"""MMVP (Tong et al. 2024): 150 pairs of CLIP-blind images, one two-option question each; its official
score counts a pair right only if both of its questions are.

Layout of MMVP/MMVP (the files the paper's harness downloads, evaluation/eval/eval_mmvp.py): ``Questions.csv``
with the columns Index (the released header spells it "lndex"), Question, Options ("(a) Open (b) Closed")
and Correct Answer ("(a)" or "(b)"); the images are ``MMVP Images/<Index>.jpg`` beside it (or under
``--images``). Questions 1 and 2 are a pair, 3 and 4 the next, and so on.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, StringConstraints

from spatialgen.errors import SpatialgenError
from spatialgen.untrusted import read_text, shown

from ..example import Example, LoadResult
from .files import Row, Text, image_at, typed
from .spec import Benchmark

# The paper harness's instruction after the options (eval_mmvp.py question_extension), for --prompt paper.
MMVP_INSTRUCTION = "Answer with the option's letter from the given choices directly."
_OPTIONS = re.compile(r"^\s*\(a\)\s*(?P<a>.+?)\s*\(b\)\s*(?P<b>.+?)\s*$", re.S)


class MMVPRow(Row):
    """One row of Questions.csv, by its header's names."""

    index: Annotated[int, Field(ge=1, le=100_000, validation_alias=AliasChoices("lndex", "Index"))]
    question: Text = Field(validation_alias="Question")
    options: Annotated[str, StringConstraints(pattern=_OPTIONS.pattern)] = Field(validation_alias="Options")
    answer: Annotated[str, StringConstraints(pattern=r"^\s*\(?[abAB]\)?\s*$")] = Field(
        validation_alias="Correct Answer"
    )

    @property
    def letter(self) -> str:
        """The right option's letter: "(a)" is A."""
        return self.answer.strip().strip("()").upper()


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """MMVP's questions as two-option multiple choice; each keeps its pair for the official score."""
    text = read_text(path, "CSV file")
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"Question", "Options", "Correct Answer"} <= set(reader.fieldnames):
        raise SpatialgenError(f"{shown(path)}: not MMVP's Questions.csv (Index, Question, Options, Correct Answer)")
    root = images or path.parent / "MMVP Images"
    res = LoadResult()
    for n, raw in enumerate(reader, 2):
        row = typed(MMVPRow, raw, f"{path} line {n}", res)
        if row is None:
            continue
        img = image_at(root, f"{row.index}.jpg", res)
        if img is None:
            continue
        m = _OPTIONS.match(row.options)
        assert m is not None  # the schema's pattern
        options = [m["a"], m["b"]]
        pair = (row.index - 1) // 2
        ex = Example(
            id=str(row.index),
            source="mmvp",
            images=[str(img)],
            question=row.question,
            options=options,
            candidates=["A", "B"],
            answer=row.letter,
            answer_type="multiple_choice",
            categories={"pair": str(pair)},
            paper_prompt=f"{row.question} Options:\nA. {options[0]}\nB. {options[1]}\n{MMVP_INSTRUCTION}",
        )
        if not res.add(ex, limit):
            break
    return res


def official_score(acc: list[dict[str, Any]], preds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """MMVP's pair accuracy per condition: the share of complete pairs with both questions right."""
    pairs: dict[tuple[str, str], list[bool]] = {}
    for p in preds:
        pairs.setdefault((p["condition"], p["categories"]["pair"]), []).append(p["correct"])
    out = []
    for cond in sorted({c for c, _ in pairs}):
        whole = [v for (c, _), v in pairs.items() if c == cond and len(v) == 2]
        if whole:
            both = sum(all(v) for v in whole)
            out.append({"condition": cond, "pairs": len(whole), "both_right": both, "pair_accuracy": both / len(whole)})
    return out


BENCHMARK = Benchmark(
    kind="mmvp",
    layout="MMVP Questions.csv; images 'MMVP Images/<Index>.jpg' beside it or under --images",
    load=load,
    images=True,
    groups=(),
    score_title="MMVP pair accuracy (both questions of a pair right)",
    score_columns=("condition", "pairs", "both_right", "pair_accuracy"),
    score=official_score,
    row=MMVPRow,
)
