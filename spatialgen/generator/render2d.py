"""The Pillow renderer: a scene graph in, anti-aliased pixels out (supersampled, then box-reduced).

It draws exactly the polygons the relations are computed on, so what is seen is what is asked.
"""

from __future__ import annotations

import io

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
        img = img.reduce(ss)
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
