"""CV-Bench (Tong et al. 2024): multiple-choice 2D and 3D vision questions, with its official score."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, StrictBytes, StringConstraints, model_validator

from ..example import Example, LoadResult
from .files import LETTERS, ImageCell, Row, Scalar, Text, image_at, is_image, numbered_lines, parquet_rows, typed
from .spec import Benchmark

CVBENCH_INSTRUCTION = ' \nPlease answer based on the choices given above. For example, "A", "B", "C", "D", or "E".'


class CVBenchRow(Row):
    """One row of CV-Bench (nyu-visionx/CV-Bench, test.parquet / test.jsonl): question, choices, answer
    "(A)".."(F)", task, type, source (ADE20K, COCO, Omni3D), prompt, idx, and the image as an Image column's
    bytes or a filename beside the file."""

    question: Text
    choices: Annotated[list[Scalar], Field(min_length=2, max_length=len(LETTERS))]
    answer: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\(?[A-J]\)?$")]
    image: StrictBytes | ImageCell | str | None = None
    filename: str | None = None
    prompt: str | None = None
    idx: Scalar | None = None
    task: str = ""
    type: str = ""
    source: str = ""

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> CVBenchRow:
        if LETTERS.index(self.letter) >= len(self.choices):
            raise ValueError(f"answer {self.answer} names no choice (there are {len(self.choices)})")
        return self

    @property
    def letter(self) -> str:
        """The answer's letter, "(B)" read as "B"."""
        return self.answer.strip("()")


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """CV-Bench rows (nyu-visionx/CV-Bench): question, choices, answer "(A)", task, type, source, prompt, and
    image bytes or a filename. ``source`` (ADE20K, COCO, Omni3D) is kept for the official combined score."""
    res = LoadResult()
    rows: Any = enumerate(parquet_rows(path), 1) if path.suffix == ".parquet" else numbered_lines(path, res)
    root = images or path.parent
    for k, (n, raw) in enumerate(rows):
        row = typed(CVBenchRow, raw, f"{path} row {n}", res)
        if row is None:
            continue
        image: Any = row.image
        if isinstance(image, ImageCell):
            image = image.bytes or image.path
        if image is None:
            image = row.filename
        if isinstance(image, str):
            p = image_at(root, image, res)
            if p is None:
                continue
            image = str(p)
        if image is None:
            res.problems["missing image"] += 1
            continue
        if isinstance(image, bytes) and not is_image(image):
            res.problems["not an image"] += 1
            continue
        ex = Example(
            id=row.idx if row.idx is not None else str(k),
            source="cvbench",
            images=[image],
            question=row.question,
            options=row.choices,
            candidates=list(LETTERS[: len(row.choices)]),
            answer=row.letter,
            answer_type="multiple_choice",
            categories={"task": row.task, "type": row.type, "cv_source": row.source},
            paper_prompt=(row.prompt + CVBENCH_INSTRUCTION) if row.prompt is not None else None,
        )
        if not res.add(ex, limit):
            break
    return res


SOURCES_2D, SOURCES_3D = ("ADE20K", "COCO"), ("Omni3D",)


def official_score(acc: list[dict[str, Any]], preds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CV-Bench's official score per condition: the 2D accuracy is the mean of the ADE20K and COCO
    accuracies, the 3D accuracy is Omni3D's, and the combined score is the mean of the two."""
    out = []
    for cond in sorted({r["condition"] for r in acc if r["source"] == "cvbench"}):
        by = {r["value"]: r["accuracy"] for r in acc if r["condition"] == cond and r["group"] == "cv_source"}
        if not all(s in by for s in (*SOURCES_2D, *SOURCES_3D)):
            continue
        two = sum(by[s] for s in SOURCES_2D) / len(SOURCES_2D)
        three = sum(by[s] for s in SOURCES_3D) / len(SOURCES_3D)
        out.append({"condition": cond, "accuracy_2d": two, "accuracy_3d": three, "combined": (two + three) / 2})
    return out


BENCHMARK = Benchmark(
    kind="cvbench",
    layout="CV-Bench .jsonl or .parquet (nyu-visionx/CV-Bench layout)",
    load=load,
    images=True,
    groups=("task", "type", "cv_source"),
    score_title="CV-Bench combined score (mean of 2D = mean(ADE20K, COCO) and 3D = Omni3D)",
    score_columns=("condition", "accuracy_2d", "accuracy_3d", "combined"),
    score=official_score,
    row=CVBenchRow,
)
