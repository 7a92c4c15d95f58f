"""CV-Bench (Tong et al. 2024): multiple-choice 2D and 3D vision questions, with its official score."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..example import Example, LoadResult
from .files import LETTERS, image_at, is_image, json_lines, parquet_rows
from .spec import Benchmark

CVBENCH_INSTRUCTION = ' \nPlease answer based on the choices given above. For example, "A", "B", "C", "D", or "E".'


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """CV-Bench rows (nyu-visionx/CV-Bench): question, choices, answer "(A)", task, type, source, prompt, and
    image bytes or a filename. ``source`` (ADE20K, COCO, Omni3D) is kept for the official combined score."""
    res = LoadResult()
    rows: Any = parquet_rows(path) if path.suffix == ".parquet" else json_lines(path, res)
    root = images or path.parent
    for k, row in enumerate(rows):
        try:
            choices, ans = [str(c) for c in row["choices"]], str(row["answer"]).strip("() ")
            letter_idx = LETTERS.index(ans)
            assert letter_idx < len(choices) and len(choices) <= len(LETTERS)
            question = str(row["question"])
        except (KeyError, TypeError, ValueError, AssertionError):
            res.problems["malformed row"] += 1
            continue
        image = row.get("image")
        if isinstance(image, dict):
            image = image.get("bytes") or image.get("path")
        if image is None:
            image = row.get("filename")
        if isinstance(image, str):
            p = image_at(root, image, res)
            if p is None:
                continue
            image = str(p)
        if not isinstance(image, bytes | str):
            res.problems["missing image"] += 1
            continue
        if isinstance(image, bytes) and not is_image(image):
            res.problems["not an image"] += 1
            continue
        prompt = row.get("prompt")
        ex = Example(
            id=str(row.get("idx", k)),
            source="cvbench",
            images=[image],
            question=question,
            options=choices,
            candidates=list(LETTERS[: len(choices)]),
            answer=ans,
            answer_type="multiple_choice",
            categories={
                "task": str(row.get("task", "")),
                "type": str(row.get("type", "")),
                "cv_source": str(row.get("source", "")),
            },
            paper_prompt=(str(prompt) + CVBENCH_INSTRUCTION) if isinstance(prompt, str) else None,
        )
        if not res.add(ex, limit):
            break
    return res


SOURCES_2D, SOURCES_3D = ("ADE20K", "COCO"), ("Omni3D",)


def official_score(acc: list[dict[str, Any]]) -> list[dict[str, Any]]:
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
)
