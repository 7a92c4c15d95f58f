"""Re-rendering one stored row from its scene graph alone: the proof that a row is self-describing.

The comparison is made within what the format promises: a PNG re-render must equal the stored pixels; a
JPEG row is compared after encoding the re-render with the run's own JPEG settings (comparing a lossless
re-render with decoded JPEG would always differ); a 3D render with Blender's denoiser, which is not
bit-reproducible, may move pixels by one 8-bit level on under 1 % of the image.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from spatialgen.errors import SpatialgenError
from spatialgen.untrusted import open_image

from .backends import backend_of
from .folder import finished, iter_rows
from .png import encode_png

DENOISE_LEVELS, DENOISE_SHARE = 1, 0.01


@dataclass(frozen=True)
class Verdict:
    same: bool
    how: str  # what was compared, and how close it came


def find_row(out: str | Path, index: int, twin: bool) -> dict:
    """The stored row of scene ``index`` (its twin with ``twin``) in a rendered folder."""
    finished(out)
    role = "twin" if twin else None
    for r in iter_rows(out):
        if r["index"] == index and (r.get("twin_role") or None) in ((role,) if twin else (None, "original")):
            return r
    raise SpatialgenError(f"{out}: no {'twin ' if twin else ''}row with index {index}")


def compare(stored: np.ndarray, again: np.ndarray, spec) -> Verdict:
    """How far a re-render is from the stored pixels, and whether that is within the run's tolerance."""
    if stored.shape != again.shape:
        return Verdict(
            False, f"sizes differ ({stored.shape[1]}x{stored.shape[0]} vs {again.shape[1]}x{again.shape[0]})"
        )
    diff = np.abs(stored.astype(np.int16) - again.astype(np.int16))
    moved = float(diff.any(-1).mean())
    if not diff.any():
        return Verdict(
            True,
            "pixel for pixel"
            + (f" after the run's JPEG encoding (q{spec.jpeg_quality})" if spec.format == "jpeg" else ""),
        )
    if backend_of(spec.config).denoised(spec) and diff.max() <= DENOISE_LEVELS and moved < DENOISE_SHARE:
        return Verdict(True, f"within the denoiser's tolerance ({moved:.2%} of pixels moved by one level)")
    return Verdict(False, f"{moved:.2%} of pixels differ, by up to {int(diff.max())} levels")


def rerender(out: str | Path, index: int, dest: Path, twin: bool = False) -> Verdict:
    """Write the re-rendered image to ``dest`` (PNG) and compare it with the stored one."""
    spec = finished(out).spec
    r = find_row(out, index, twin)
    stored = open_image(r["image"]["bytes"], f"{out}: row {r['id']}")  # a bad stored image: refused before writing
    img = backend_of(spec.config).render_row(r)
    try:
        dest.write_bytes(encode_png(img))
    except OSError as e:
        raise SpatialgenError(f"cannot write {dest}: {e.strerror or e}") from None
    if spec.format == "jpeg":
        from .render2d import encode

        img = Image.open(io.BytesIO(encode(img, "jpeg", spec.jpeg_quality))).convert("RGB")
    return compare(np.asarray(stored), np.asarray(img), spec)
