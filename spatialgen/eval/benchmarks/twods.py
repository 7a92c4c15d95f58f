"""The paper's 2DS set (Qi et al. 2025): 2D scenes with count and relation questions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, StrictBytes

from spatialgen.errors import SpatialgenError

from ..example import Example, LoadResult
from .cvbench import ImageCell
from .files import LETTERS, MAX_NUMBER, Row, Scalar, Text, image_at, is_image, parquet_rows, read_json, typed
from .spec import Benchmark

_COUNT = re.compile(r"[0-9]{1,40}")  # ASCII digits only: "²" is a digit to str.isdigit, not to int()


class TwoDSQuestion(BaseModel):
    """One of an entry's qa_pairs: question, answer (yes/no, an option letter, a count or a word), qa_category."""

    question: Text
    answer: Scalar
    qa_category: str = ""


class TwoDSEntry(Row):
    """One entry of the 2DS set (user074/beyond-semantics' 2DS release: entry_id, image_filename (an Image
    column in the parquet layout, a path in the JSON one), test_category, qa_pairs)."""

    qa_pairs: list[dict]
    image_filename: StrictBytes | ImageCell | str | None = None
    entry_id: Scalar | None = None
    test_category: Scalar | None = None


def _2ds_entries(path: Path) -> tuple[list[Any], Path, str]:
    """The entries of a 2DS set and the folder its image paths are relative to: the paper's parquet layout
    (a .parquet file, or a folder with data/*.parquet; ``image_filename`` holds the image bytes) or the
    JSON variant (data.json with images/ beside it)."""
    if path.is_dir():
        files = sorted((path / "data").glob("*.parquet")) or sorted(path.glob("*.parquet"))
        if files:
            return [r for f in files for r in parquet_rows(f)], path, "parquet"
        path = path / "data.json"
    if path.suffix == ".parquet":
        return list(parquet_rows(path)), path.parent, "parquet"
    entries = read_json(path)
    if not isinstance(entries, list):
        raise SpatialgenError(f"{path}: expected a list of 2DS entries")
    return entries, path.parent, "json"


def _questions(entry: TwoDSEntry, where: str, res: LoadResult | None) -> list[TwoDSQuestion]:
    """The entry's well-formed questions; the others counted in ``res`` (None: not counted)."""
    out = []
    for k, raw in enumerate(entry.qa_pairs):
        try:
            out.append(TwoDSQuestion.model_validate(raw))
        except ValueError as e:  # pydantic's ValidationError is a ValueError
            if res is not None:
                res.note("malformed row", f"{where} question {k}: {str(e).splitlines()[-1].strip()[:120]}")
            out.append(None)
    return out


def _2ds_domains(entries: list[TwoDSEntry]) -> tuple[dict[str, set[str]], dict[str, int]]:
    """Per qa_category: the words its answers use, and its largest numeric answer (both read off the file)."""
    words: dict[str, set[str]] = {}
    top: dict[str, int] = {}
    for e in entries:
        for qa in _questions(e, "", None):
            if qa is None:
                continue
            ans, cat = qa.answer.strip(), qa.qa_category
            if _COUNT.fullmatch(ans):
                if int(ans) <= MAX_NUMBER:
                    top[cat] = max(top.get(cat, 0), int(ans))
            else:
                words.setdefault(cat, set()).add(ans.lower())
    return words, top


def _2ds_image(e: TwoDSEntry, root: Path, res: LoadResult) -> bytes | str | None:
    img: Any = e.image_filename
    if isinstance(img, ImageCell):  # the parquet layout: an Image column, bytes inline
        if img.bytes is not None:
            if not is_image(img.bytes):
                res.problems["not an image"] += 1
                return None
            return img.bytes
        img = img.path
    if isinstance(img, bytes):
        return img if is_image(img) else None
    path = image_at(root, img, res)
    return None if path is None else str(path)


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """The 2DS set: entries with qa_pairs, one Example per pair. Answers are closed-form: yes/no, option
    letters named in the question, counts (0..the category's largest in the file), or a word from the
    vocabulary its qa_category uses in the file. ``test_category`` is kept for the report."""
    raw_entries, root, _ = _2ds_entries(path)
    root = images or root
    res = LoadResult()
    entries = [(n, typed(TwoDSEntry, e, f"{path} entry {n}", res)) for n, e in enumerate(raw_entries)]
    words, top = _2ds_domains([e for _, e in entries if e is not None])
    for n, e in entries:
        if e is None:
            continue
        image = _2ds_image(e, root, res)
        if image is None:
            continue
        for k, qa in enumerate(_questions(e, f"{path} entry {n}", res)):
            if qa is None:
                continue
            ans, cat, q = qa.answer.strip(), qa.qa_category, qa.question
            low = ans.lower()
            if low in ("yes", "no"):
                cands, atype = ["yes", "no"], "yes_no"
            elif len(ans) == 1 and ans in LETTERS and f"({ans})" in q:
                cands, atype = [c for c in LETTERS if f"({c})" in q], "multiple_choice"
            elif _COUNT.fullmatch(low):
                if int(low) > MAX_NUMBER:
                    res.note("malformed row", f"{path} entry {n} question {k}: a count over {MAX_NUMBER}")
                    continue
                cands, atype, low = [str(i) for i in range(top[cat] + 1)], "number", str(int(low))
            else:
                cands, atype = sorted(words.get(cat, {low})), "word"
            if len(cands) < 2:  # one possible answer ("²" alone in its category): nothing to score
                res.note("not closed-form", f"{path} entry {n} question {k}: its category has one answer")
                continue
            ex = Example(
                id=f"{e.entry_id if e.entry_id is not None else n}/{k}",
                source="2ds",
                images=[image],
                question=q,
                candidates=cands,
                answer=low if atype != "multiple_choice" else ans,
                answer_type=atype,
                categories={"family": cat, "test_category": str(e.test_category)},
            )
            if not res.add(ex, limit):
                return res
    return res


BENCHMARK = Benchmark(
    kind="2ds",
    layout="the paper's 2DS set: its parquet (file or folder with data/) or data.json",
    load=load,
    images=False,
    groups=("family", "test_category"),
    row=TwoDSEntry,
)
