"""Reading benchmark files as untrusted input: shared by every benchmark declaration in this package.

Every reader goes line by line (or item by item), counts malformed rows and missing images in
``LoadResult.problems`` and keeps going; a file that is not of its kind at all is one SpatialgenError.
Paths come from the files: an image path that leads outside its benchmark's image folder is a malformed
row, never opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, Field, StrictBytes, ValidationError

from spatialgen.errors import SpatialgenError
from spatialgen.untrusted import inside, is_image, parse_json, read_json, read_text, shown

from ..example import Example, LoadResult

LETTERS = "ABCDEFGHIJ"
MAX_NUMBER = 1000  # a numeric answer above this is a malformed row: domains stay small
MAX_TEXT = 20_000  # characters in one question, caption or choice (a SpartQA story is longer: its own bound)

__all__ = [
    "LETTERS",
    "MAX_NUMBER",
    "ImageCell",
    "Images",
    "Row",
    "Scalar",
    "Text",
    "TrueFalse",
    "confined",
    "image_at",
    "image_rows",
    "is_image",
    "json_lines",
    "numbered_lines",
    "read_json",
    "typed",
]

M = TypeVar("M", bound=BaseModel)


def _scalar_text(v: Any) -> Any:
    """A number where a file's text is expected (a count written 3, a choice written 2.5) reads as its text;
    a bool, a dict, a list or null stays what it is, and the str field refuses it."""
    return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


# The fields rows are declared with: text is a non-empty str (an int, null or dict is a malformed row), a
# Scalar is text that may be written as a number.
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
Scalar = Annotated[str, BeforeValidator(_scalar_text), Field(min_length=1, max_length=MAX_TEXT)]


class ImageCell(BaseModel):
    """A parquet Image column's value (datasets' Image feature): the encoded bytes, or a path."""

    bytes: StrictBytes | None = None
    path: str | None = None


class Row(BaseModel):
    """A benchmark record's declared schema: each benchmark file declares its own, the fields it reads (the
    rest of the record is ignored)."""


def typed(model: type[M], raw: Any, where: str, res: LoadResult) -> M | None:
    """``raw`` validated as ``model``; a record it refuses is counted as a malformed row (the first one
    described by row, file and field) and gives None."""
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "(the row)"
        res.note("malformed row", f"{shown(where)}, field '{loc}': {err['msg']}")
        return None


def confined(root: Path, rel: Any) -> Path | None:
    """``root / rel`` if it stays inside ``root`` (no absolute path, no way out through '..' or a link)."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        return None
    path = root / rel
    return path.resolve() if inside(root, path) else None


def image_at(root: Path, rel: Any, res: LoadResult) -> Path | None:
    """The image a benchmark row names, confined to ``root`` (a path leading outside it, or missing, is counted in
    ``res.problems`` and gives None)."""
    path = confined(root, rel)
    if path is None:
        res.problems["malformed row"] += 1
    elif not path.is_file():
        res.problems["missing image"] += 1
        path = None
    elif not is_image(path):
        res.problems["not an image"] += 1
        path = None
    return path


class Images:
    """``image_at`` under one root, each name checked once per load: questions share images (VQAv2 and GQA
    ask several about each), and a check resolves the path and opens the file's header. A repeated name
    counts its problem again, as a row of its own."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seen: dict[str, tuple[Path | None, str | None]] = {}

    def at(self, rel: Any, res: LoadResult) -> Path | None:
        if not isinstance(rel, str):
            return image_at(self.root, rel, res)
        if rel not in self._seen:
            probe = LoadResult()
            path = image_at(self.root, rel, probe)
            self._seen[rel] = (path, next(iter(probe.problems), None))
        path, problem = self._seen[rel]
        if problem is not None:
            res.problems[problem] += 1
        return path


def json_lines(path: Path, res: LoadResult) -> Iterator[dict[str, Any]]:
    """The objects of a JSON-lines file; a malformed line is counted in ``res.problems``, not raised."""
    for _, row in numbered_lines(path, res):
        yield row


def numbered_lines(path: Path, res: LoadResult) -> Iterator[tuple[int, dict[str, Any]]]:
    """The objects of a JSON-lines file with their line numbers; a malformed line is counted in
    ``res.problems``, not raised."""
    text = read_text(path, "JSON-lines file")
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = parse_json(line, f"{path} line {n}")
        except SpatialgenError as e:  # malformed, too deep, too many digits: that row, not the file
            res.note("malformed row", str(e))
            continue
        if isinstance(row, dict):
            yield n, row
        else:
            res.note("malformed row", f"{shown(path)} line {n}: not a JSON object")


def parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a parquet file, batch by batch (bounded memory); a damaged file is one SpatialgenError."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        f = pq.ParquetFile(path)
        for batch in f.iter_batches(batch_size=64):
            yield from batch.to_pylist()
    except (OSError, pa.ArrowException) as e:
        raise SpatialgenError(f"{shown(path)} is not a readable parquet file ({type(e).__name__})") from None


def image_rows(path: Path, model: type[M], res: LoadResult) -> Iterator[tuple[M, bytes]]:
    """The rows of a parquet file of ``model`` (whose ``image`` is an Image cell or bytes), each with its image
    bytes; a malformed row, or one whose image is not an image, is counted in ``res.problems``."""
    for n, raw in enumerate(parquet_rows(path), 1):
        row = typed(model, raw, f"{path} row {n}", res)
        if row is None:
            continue
        cell = row.image  # type: ignore[attr-defined]
        data = cell.bytes if isinstance(cell, ImageCell) else cell
        if not data or not is_image(data):
            res.problems["not an image"] += 1
            continue
        yield row, data


def truth(label: Any) -> str | None:
    """A benchmark's true/false label (bool, 0/1, or its words) as "true" / "false"; None if it is neither."""
    if not isinstance(label, str | int | bool):
        return None
    s = str(label).strip().lower()
    return {"true": "true", "1": "true", "false": "false", "0": "false"}.get(s)


def _truth_or_refuse(v: Any) -> str:
    t = truth(v)
    if t is None:
        raise ValueError("a label must be true/false, 1/0 or a bool")
    return t


TrueFalse = Annotated[str, BeforeValidator(_truth_or_refuse)]


def statement(sentence: str) -> str:
    """The true/false question a caption-and-label benchmark asks about one caption."""
    return f'Is the following statement true or false? "{sentence.strip()}"'


def true_false(
    id: str, source: str, images: list[str], sentence: str, label: str, categories: dict[str, str], note: str = ""
) -> Example:
    """The Example of a caption-and-label benchmark (NLVR, NLVR2, VSR): is the sentence true of the image(s)?"""
    return Example(
        id=id,
        source=source,
        images=images,
        question=statement(sentence) + note,
        candidates=["true", "false"],
        answer=label,
        answer_type="true_false",
        categories=categories,
    )
