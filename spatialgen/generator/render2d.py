"""The Pillow renderer: a scene graph in, anti-aliased pixels out (supersampled, then box-reduced).

It draws exactly the polygons the relations are computed on, so what is seen is what is asked.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw

from spatialgen.scenes.flat.scene import Obj, Scene

from .png import encode_png

FORMATS = ("png", "jpeg")


def _darker(rgb: tuple[int, int, int], k: float = 0.55) -> tuple[int, int, int]:
    return (int(rgb[0] * k), int(rgb[1] * k), int(rgb[2] * k))


def _stripes(draw: ImageDraw.ImageDraw, o: Obj, pts: list[tuple[float, float]], ss: int, canvas: Image.Image) -> None:
    """Diagonal stripes in a darker shade, clipped to the object's outline through a mask."""
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, y0, x1, y1 = int(min(xs)), int(min(ys)), int(max(xs)) + 2, int(max(ys)) + 2
    w, h = x1 - x0, y1 - y0
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).polygon([(x - x0, y - y0) for x, y in pts], fill=255)
    tile = Image.new("RGB", (w, h), o.rgb)
    td = ImageDraw.Draw(tile)
    step = max(4, int(6 * ss))
    for k in range(-h, w, step):
        td.line([(k, 0), (k + h, h)], fill=_darker(o.rgb), width=max(1, int(1.5 * ss)))
    canvas.paste(tile, (x0, y0), mask)


# Pillow rasterizes a polygon's float vertices to whole pixels and strokes its outline and lines half their
# width either side: a margin of this many supersampled pixels past the geometry holds all of it (a test
# renders every preset both ways and compares every pixel).
_SLACK = 3


def _drawn_boxes(scene: Scene, ss: int) -> list[tuple[int, int, int, int]] | None:
    """Boxes of the supersampled canvas, on the ``ss`` grid, that hold everything drawn (None: most of it).

    Reducing a box of plain background gives the background back exactly ((4b + 2) >> 2 == b), so reducing
    only these boxes and pasting them onto a background image gives the bytes a reduce of the whole canvas
    gives, at a fraction of the cost: on the default preset the objects cover a fifth of the image, and the
    full reduce was most of a scene's drawing time (bench/render2d.py)."""
    w, h = scene.width * ss, scene.height * ss
    boxes = []

    def add(x0: float, y0: float, x1: float, y1: float, pad: float) -> None:
        bx0 = max(0, (math.floor(x0 * ss - pad) // ss) * ss)
        by0 = max(0, (math.floor(y0 * ss - pad) // ss) * ss)
        bx1 = min(w, -(-math.ceil(x1 * ss + pad) // ss) * ss)
        by1 = min(h, -(-math.ceil(y1 * ss + pad) // ss) * ss)
        if bx0 < bx1 and by0 < by1:
            boxes.append((bx0, by0, bx1, by1))

    for s in scene.clutter:
        half = max(1, round(s.width * ss)) / 2 + _SLACK
        add(min(s.x0, s.x1), min(s.y0, s.y1), max(s.x0, s.x1), max(s.y0, s.y1), half)
    for o in scene.objects:
        x0, y0, x1, y1 = o.bbox()
        add(x0, y0, x1, y1, _SLACK + (2 * ss if o.outline else 0))
    if sum((b[2] - b[0]) * (b[3] - b[1]) for b in boxes) > w * h // 2:
        return None
    return boxes


def _reduce(img: Image.Image, scene: Scene, ss: int) -> Image.Image:
    """``img.reduce(ss)``, computed only where something was drawn (same bytes)."""
    boxes = _drawn_boxes(scene, ss)
    if boxes is None:
        return img.reduce(ss)
    out = Image.new("RGB", (scene.width, scene.height), tuple(scene.background))
    for b in boxes:
        out.paste(img.reduce(ss, b), (b[0] // ss, b[1] // ss))
    return out


def render(scene: Scene, antialias: int = 2) -> Image.Image:
    """Draw a 2D scene with Pillow (supersampled by ``antialias``, noise and clutter as stored)."""
    ss = antialias
    img = Image.new("RGB", (scene.width * ss, scene.height * ss), tuple(scene.background))
    draw = ImageDraw.Draw(img)
    for s in scene.clutter:
        draw.line(
            [(s.x0 * ss, s.y0 * ss), (s.x1 * ss, s.y1 * ss)], fill=(s.gray,) * 3, width=max(1, round(s.width * ss))
        )
    for o in scene.objects:
        pts = [(x * ss, y * ss) for x, y in o.polygon()]
        draw.polygon(pts, fill=o.rgb)
        if o.texture == "striped":
            _stripes(draw, o, pts, ss, img)
        if o.outline:
            draw.polygon(pts, outline=(20, 20, 20), width=max(1, 2 * ss))
    if ss > 1:
        img = _reduce(img, scene, ss)
    if scene.noise > 0:
        rng = np.random.Generator(np.random.PCG64(scene.noise_seed))
        amp = int(scene.noise)
        noisy = np.asarray(img, dtype=np.int16) + rng.integers(
            -amp, amp + 1, (scene.height, scene.width, 1), dtype=np.int16
        )
        img = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    return img


def encode(img: Image.Image, fmt: str = "png", jpeg_quality: int = 90) -> bytes:
    """An image as PNG (deterministic bytes) or JPEG bytes."""
    if fmt == "png":
        return encode_png(img)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=jpeg_quality)
    return buf.getvalue()
