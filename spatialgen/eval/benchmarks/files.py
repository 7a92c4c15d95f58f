"""Reading benchmark files as untrusted input: shared by every benchmark declaration in this package.

Every reader goes line by line (or item by item), counts malformed rows and missing images in
``LoadResult.problems`` and keeps going; a file that is not of its kind at all is one SpatialgenError.
Paths come from the files: an image path that leads outside its benchmark's image folder is a malformed
row, never opened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from spatialgen.errors import SpatialgenError

from ..example import LoadResult

LETTERS = "ABCDEFGHIJ"
MAX_NUMBER = 1000  # a numeric answer above this is a malformed row: domains stay small


def confined(root: Path, rel: Any) -> Path | None:
    """``root / rel`` if it stays inside ``root`` (no absolute path, no way out through '..' or a link)."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        return None
    path = (root / rel).resolve()
    base = root.resolve()
    return path if path == base or base in path.parents else None


def is_image(src: Path | bytes) -> bool:
    """Whether ``src`` opens as an image (its header only: cheap, nothing decoded)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(src) if isinstance(src, bytes) else src):
            return True
    except (OSError, UnidentifiedImageError, ValueError):
        return False


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


def json_lines(path: Path, res: LoadResult) -> Iterator[dict[str, Any]]:
    """The objects of a JSON-lines file; a malformed line is counted in ``res.problems``, not raised."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpatialgenError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            res.problems["malformed row"] += 1
            continue
        if isinstance(row, dict):
            yield row
        else:
            res.problems["malformed row"] += 1


def read_json(path: Path) -> Any:
    """A whole JSON file; unreadable or malformed is one SpatialgenError naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise SpatialgenError(f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise SpatialgenError(f"{path} is not a UTF-8 JSON file") from None
    except json.JSONDecodeError as e:
        raise SpatialgenError(f"{path} is not valid JSON (line {e.lineno})") from None


def parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a parquet file, batch by batch (bounded memory); a damaged file is one SpatialgenError."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        f = pq.ParquetFile(path)
        for batch in f.iter_batches(batch_size=64):
            yield from batch.to_pylist()
    except (OSError, pa.ArrowException) as e:
        raise SpatialgenError(f"{path} is not a readable parquet file ({type(e).__name__})") from None


def truth(label: Any) -> str | None:
    """A benchmark's true/false label (bool, 0/1, or its words) as "true" / "false"; None if it is neither."""
    s = str(label).strip().lower()
    return {"true": "true", "1": "true", "false": "false", "0": "false"}.get(s)


def statement(sentence: str) -> str:
    """The true/false question a caption-and-label benchmark asks about one caption."""
    return f'Is the following statement true or false? "{sentence.strip()}"'
