"""The paper's 2DS set (Qi et al. 2025): 2D scenes with count and relation questions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spatialgen.errors import SpatialgenError

from ..example import Example, LoadResult
from .files import LETTERS, MAX_NUMBER, image_at, is_image, parquet_rows, read_json
from .spec import Benchmark


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


def _2ds_answer(qa: Any) -> tuple[str, str, str]:
    ans, cat, q = str(qa["answer"]).strip(), str(qa.get("qa_category", "")), str(qa["question"])
    return ans, cat, q


def _2ds_domains(entries: list[Any]) -> tuple[dict[str, set[str]], dict[str, int]]:
    """Per qa_category: the words its answers use, and its largest numeric answer (both read off the file)."""
    words: dict[str, set[str]] = {}
    top: dict[str, int] = {}
    for e in entries:
        for qa in e.get("qa_pairs") or [] if isinstance(e, dict) else []:
            try:
                ans, cat, _ = _2ds_answer(qa)
            except (KeyError, TypeError, AttributeError):
                continue
            if ans.isdigit() and int(ans) <= MAX_NUMBER:
                top[cat] = max(top.get(cat, 0), int(ans))
            elif not ans.isdigit():
                words.setdefault(cat, set()).add(ans.lower())
    return words, top


def _2ds_image(e: dict, root: Path, res: LoadResult) -> bytes | str | None:
    img = e.get("image_filename")
    if isinstance(img, dict):  # the parquet layout: an Image column, bytes inline
        if isinstance(img.get("bytes"), bytes | bytearray):
            if not is_image(bytes(img["bytes"])):
                res.problems["not an image"] += 1
                return None
            return bytes(img["bytes"])
        img = img.get("path")
    path = image_at(root, img, res)
    return None if path is None else str(path)


def load(path: Path, images: Path | None, limit: int | None) -> LoadResult:
    """The 2DS set: entries with qa_pairs, one Example per pair. Answers are closed-form: yes/no, option
    letters named in the question, counts (0..the category's largest in the file), or a word from the
    vocabulary its qa_category uses in the file. ``test_category`` is kept for the report."""
    entries, root, _ = _2ds_entries(path)
    root = images or root
    words, top = _2ds_domains(entries)
    res = LoadResult()
    for n, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("qa_pairs"), list):
            res.problems["malformed row"] += 1
            continue
        image = _2ds_image(e, root, res)
        if image is None:
            continue
        for k, qa in enumerate(e["qa_pairs"]):
            try:
                ans, cat, q = _2ds_answer(qa)
            except (KeyError, TypeError, AttributeError):
                res.problems["malformed row"] += 1
                continue
            low = ans.lower()
            if low in ("yes", "no"):
                cands, atype = ["yes", "no"], "yes_no"
            elif len(ans) == 1 and ans in LETTERS and f"({ans})" in q:
                cands, atype = [c for c in LETTERS if f"({c})" in q], "multiple_choice"
            elif low.isdigit():
                if int(low) > MAX_NUMBER:
                    res.problems["malformed row"] += 1
                    continue
                cands, atype, low = [str(i) for i in range(top[cat] + 1)], "number", str(int(low))
            else:
                cands, atype = sorted(words.get(cat, {low})), "word"
            ex = Example(
                id=f"{e.get('entry_id', n)}/{k}",
                source="2ds",
                images=[image],
                question=q,
                candidates=cands,
                answer=low if atype != "multiple_choice" else ans,
                answer_type=atype,
                categories={"family": cat, "test_category": str(e.get("test_category"))},
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
)
