"""Untrusted input, read in one place: images, JSON and YAML from files the user (or the Hub) hands us.

Every reader here bounds what a crafted file can make us do (pixels decoded, nesting walked, digits
converted, nodes visited) and turns every way a file can be wrong into one ``SpatialgenError`` that names
it, so a command ends in one line and exit 2, never a traceback (docs/SECURITY.md lists the limits).
Paths from files are confined by their resolved target (``inside``), so a symlink cannot lead out.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spatialgen.errors import SpatialgenError

if TYPE_CHECKING:
    from PIL.Image import Image

# Pixels one image may have. 8,000 x 8,000 holds every public benchmark's images (COCO, NLVR2's web photos,
# CV-Bench) with room to spare; Pillow's own guard warns at 89 M and raises only at 179 M, after a bomb of
# 1.6 G pixels would have been refused but one of 150 M decoded (600 MB of RGB).
MAX_PIXELS = 64_000_000
# Nesting a JSON or YAML document may have: the deepest real file in tests/fixtures (SpartQA-Human's) nests
# containers 6 deep; Python's own parsers recurse and end in RecursionError near 1,000.
MAX_DEPTH = 64
# Values (scalars, lists, dicts) one document may have, counted through YAML aliases: a "billion laughs"
# document of a few kB expands to 10^9 values when walked, as pydantic would.
MAX_NODES = 5_000_000
# VQA's own annotation files are larger (vqav2.py, VQA_VALUES): a reader of one of them may allow more.
# Digits an integer in a document may have: CPython refuses above 4,300 with a ValueError of its own.
MAX_DIGITS = 40


def shown(value: object) -> str:
    """``value`` as text that stays on one line: control characters (a newline in a file name) escaped, so an
    error that names a path is still one line."""
    s = str(value)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


def inside(root: Path, path: Path) -> bool:
    """Whether ``path``, resolved (links followed), lies under ``root``, resolved: confinement by where a
    file really is, not by its name."""
    try:
        target, base = path.resolve(), root.resolve()
    except (OSError, RuntimeError):  # a link loop
        return False
    return target == base or base in target.parents


def check_pixels(size: tuple[int, int], where: str) -> None:
    """Refuse an image whose header claims more than ``MAX_PIXELS``, before anything is decoded."""
    w, h = size
    if w * h > MAX_PIXELS:
        raise SpatialgenError(
            f"{shown(where)}: an image of {w} x {h} pixels is over the limit of {MAX_PIXELS:,} pixels; refused"
        )


def open_image(src: bytes | str | Path, where: str | None = None) -> Image:
    """``src`` (encoded bytes or a file) decoded as an RGB PIL image, its pixel count bounded first; a file
    that is not an image, is damaged or is too large is one SpatialgenError naming ``where``."""
    from PIL import Image, UnidentifiedImageError

    where = where or ("image bytes" if isinstance(src, bytes) else str(src))
    try:
        with Image.open(io.BytesIO(src) if isinstance(src, bytes | bytearray) else src) as img:
            check_pixels(img.size, where)
            return img.convert("RGB")
    except Image.DecompressionBombError:  # Pillow's own guard (2 x its MAX_IMAGE_PIXELS), met at the header
        raise SpatialgenError(f"{shown(where)}: an image over the limit of {MAX_PIXELS:,} pixels; refused") from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        raise SpatialgenError(f"{shown(where)} is not a readable image") from None


def is_image(src: bytes | Path) -> bool:
    """Whether ``src`` opens as an image of at most ``MAX_PIXELS`` (its header only: nothing decoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(src) if isinstance(src, bytes | bytearray) else src) as img:
            w, h = img.size
            return w * h <= MAX_PIXELS
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError, SyntaxError):
        return False


def check_shape(data: Any, where: str, max_nodes: int | None = None) -> Any:
    """``data`` back if it nests at most ``MAX_DEPTH`` deep, holds at most ``max_nodes`` (``MAX_NODES``)
    values and no float that is not finite; else one SpatialgenError. Walks iteratively: depth costs no stack."""
    limit = MAX_NODES if max_nodes is None else max_nodes
    stack = [(data, 1)]
    nodes = 0
    while stack:
        v, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            raise SpatialgenError(f"{shown(where)}: nested more than {MAX_DEPTH} levels deep; refused")
        if nodes > limit:
            raise SpatialgenError(f"{shown(where)}: more than {limit:,} values; refused")
        if isinstance(v, dict):
            stack += [(x, depth + 1) for x in v.values()]
            stack += [(k, depth + 1) for k in v if not isinstance(k, str)]
        elif isinstance(v, list | tuple):
            stack += [(x, depth + 1) for x in v]
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10**MAX_DIGITS:
            raise SpatialgenError(f"{shown(where)}: an integer of more than {MAX_DIGITS} digits; refused")
    return data


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"an integer of more than {MAX_DIGITS} digits")
    return int(text)


def _finite(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):  # 1e999 parses as inf
        raise ValueError("a number too large for a float")
    return x


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str, where: str, max_nodes: int | None = None) -> Any:
    """A JSON document, bounded: nesting, value count (``max_nodes``, default ``MAX_NODES``), integer digits;
    NaN/Infinity (not JSON) refused."""
    try:
        data = json.loads(text, parse_int=_bounded_int, parse_float=_finite, parse_constant=_reject_constant)
    except RecursionError:
        raise SpatialgenError(f"{shown(where)}: nested more than {MAX_DEPTH} levels deep; refused") from None
    except json.JSONDecodeError as e:
        raise SpatialgenError(f"{shown(where)} is not valid JSON at line {e.lineno}") from None
    except ValueError as e:
        raise SpatialgenError(f"{shown(where)}: {e}; refused") from None
    return check_shape(data, where, max_nodes)


def parse_yaml(text: str, where: str) -> Any:
    """A YAML document through the safe loader (no tags that build objects), bounded as ``parse_json``."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise SpatialgenError(f"{shown(where)}: nested more than {MAX_DEPTH} levels deep; refused") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise SpatialgenError(f"{shown(where)} is not valid YAML{at}") from None
    except ValueError as e:  # an integer past CPython's 4,300-digit conversion limit
        raise SpatialgenError(f"{shown(where)}: {str(e).splitlines()[0][:80]}; refused") from None
    return check_shape(data, where)


def read_text(path: Path, what: str = "file") -> str:
    """A UTF-8 text file; missing, unreadable or not UTF-8 is one SpatialgenError naming it as ``what``."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpatialgenError(f"{what} {shown(path)} is not UTF-8 text") from None
    except IsADirectoryError:
        raise SpatialgenError(f"{what} {shown(path)} is a folder, not a file") from None
    except OSError as e:
        raise SpatialgenError(f"cannot read {what} {shown(path)}: {e.strerror or e}") from None


def read_json(path: Path, max_nodes: int | None = None) -> Any:
    """A whole JSON file, bounded (``parse_json``)."""
    return parse_json(read_text(path, "JSON file"), str(path), max_nodes)
