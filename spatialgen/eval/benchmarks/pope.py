"""POPE (Li et al. 2023): "Is there a <object> in the image?" about COCO images, yes or no, under three
ways of drawing the absent objects (random, popular, adversarial); its official metrics per strategy.

Two layouts: POPE's own question files (RUCAIBox/POPE ``output/coco/coco_pope_{strategy}.json``, JSON lines
of question_id, image, text, label; the paper's harness ships ``coco_pope_popular.jsonl`` in the same form),
whose images are COCO val2014 files (``--images``); and lmms-lab/POPE's parquet (id, question_id, question,
answer, image_source, image, category), images inside.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, StrictBytes

from ..example import Example, LoadResult
from .files import ImageCell, Row, Scalar, Text, image_at, image_rows, numbered_lines, typed
from .spec import Benchmark

STRATEGIES = ("random", "popular", "adversarial")
# The instruction the paper's harness appends (evaluation/eval/eval_pope.py), for --prompt paper.
POPE_INSTRUCTION = ' \nPlease answer either "yes" or "no". For example, "yes".'
_FILE = re.compile(r"pope_(random|popular|adversarial)\b")


def _lower(v: Any) -> Any:
    return v.strip().lower() if isinstance(v, str) else v


YesNo = Annotated[Literal["yes", "no"], BeforeValidator(_lower)]


class PopeLine(Row):
    """One line of POPE's question files: question_id, image (a COCO val2014 file name), text, label."""

    question_id: Scalar
    image: Text
    text: Text
    label: YesNo


class PopeRow(Row):
    """One row of lmms-lab/POPE: question_id, question, answer, category (the strategy), image."""

    question_id: Scalar
    question: Text
    answer: YesNo
    category: Annotated[Literal[STRATEGIES], BeforeValidator(_lower)]  # type: ignore[valid-type]
    image: ImageCell | StrictBytes


def _example(qid: str, image: bytes | str, question: str, answer: str, strategy: str) -> Example:
    return Example(
        id=f"{strategy}-{qid}",  # question ids repeat across the three strategies' files
        source="pope",
        images=[image],
        question=question,
        candidates=["yes", "no"],
        answer=answer,
        answer_type="yes_no",
        categories={"strategy": strategy},
        paper_prompt=question + POPE_INSTRUCTION,
    )


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """POPE questions from either layout; the strategy comes from the file name (coco_pope_popular.json) or,
    in lmms-lab's parquet, from each row's category."""
    res = LoadResult()
    if path.suffix == ".parquet":
        for row, data in image_rows(path, PopeRow, res):
            if not res.add(_example(row.question_id, data, row.question, row.answer, row.category), limit):
                break
        return res
    m = _FILE.search(path.name)
    strategy = m.group(1) if m else path.stem
    root = images or path.parent
    for n, raw in numbered_lines(path, res):
        line = typed(PopeLine, raw, f"{path} line {n}", res)
        if line is None:
            continue
        img = image_at(root, line.image, res)
        if img is None:
            continue
        if not res.add(_example(line.question_id, str(img), line.text, line.label, strategy), limit):
            break
    return res


def reply_answer(raw: str) -> str:
    """POPE's own reading of a free-form reply (RUCAIBox/POPE evaluate.py, as the paper's grader_pope.py
    reads it): the first sentence, commas dropped; "no" if it has the word No, no or not, else "yes"."""
    text = raw.split(".")[0] if "." in raw else raw
    words = text.replace(",", "").split(" ")
    return "no" if any(w in words for w in ("No", "no", "not")) else "yes"


def official_score(acc: list[dict[str, Any]], preds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """POPE's metrics per condition and strategy, "yes" the positive class: accuracy, precision, recall, F1
    and the share of "yes" replies. A generated reply that names no candidate is read as POPE reads it."""
    cells: dict[tuple[str, str], list[tuple[bool, bool]]] = {}
    for p in preds:
        said = p["prediction"] if p["prediction"] is not None else reply_answer(p.get("raw") or "")
        key = (p["condition"], p["categories"].get("strategy", ""))
        cells.setdefault(key, []).append((said == "yes", p["answer"] == "yes"))
    out = []
    for (cond, strategy), pairs in sorted(cells.items()):
        tp = sum(s and t for s, t in pairs)
        fp = sum(s and not t for s, t in pairs)
        fn = sum(t and not s for s, t in pairs)
        tn = len(pairs) - tp - fp - fn
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out.append(
            {
                "condition": cond,
                "strategy": strategy,
                "n": len(pairs),
                "accuracy": (tp + tn) / len(pairs),
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "yes_ratio": (tp + fp) / len(pairs),
            }
        )
    return out


BENCHMARK = Benchmark(
    kind="pope",
    layout="POPE coco_pope_{random,popular,adversarial}.json lines (--images: COCO val2014), or lmms-lab/POPE .parquet",
    load=load,
    images=True,
    groups=("strategy",),
    score_title="POPE (per strategy; 'yes' is the positive class)",
    score_columns=("condition", "strategy", "n", "accuracy", "precision", "recall", "f1", "yes_ratio"),
    score=official_score,
    row=PopeLine,
)
