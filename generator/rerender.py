"""Re-rendering one stored row from its scene graph alone: the proof that a row is self-describing."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from spatialgen.errors import SpatialgenError

from .dataset import finished, iter_rows
from .png import encode_png


def find_row(out: str | Path, index: int, twin: bool) -> dict:
    finished(out)
    role = "twin" if twin else None
    for r in iter_rows(out):
        if r["index"] == index and (r.get("twin_role") or None) in ((role,) if twin else (None, "original")):
            return r
    raise SpatialgenError(f"{out}: no {'twin ' if twin else ''}row with index {index}")


def rerender(out: str | Path, index: int, dest: Path, twin: bool = False) -> bool:
    """Write the re-rendered PNG to ``dest``; True if its pixels equal the stored image's."""
    r = find_row(out, index, twin)
    if "camera" in r:
        from .blender import worker
        from .render3d import scene_from_row3d

        png = worker().render(scene_from_row3d(r).to_dict(), "beauty", r["render"])
        img = Image.open(io.BytesIO(png)).convert("RGB")
    else:
        from .records import scene_from_row
        from .render2d import render

        img = render(scene_from_row(r), r["render"]["antialias"])
    dest.write_bytes(encode_png(img))
    stored = Image.open(io.BytesIO(r["image"]["bytes"])).convert("RGB")
    return stored.size == img.size and bool((np.asarray(stored) == np.asarray(img)).all())
