"""A contact sheet: the first images of a folder with their questions and answers drawn beside them."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from spatialgen.untrusted import open_image

from .folder import iter_rows

CELL = 256
TEXT_W = 440
PAD = 12


def contact_sheet(out: Path, count: int = 8, columns: int = 2) -> Image.Image:
    """The first ``count`` images with their questions and answers, as one image."""
    rows = []
    for r in iter_rows(out, columns=["id", "image", "questions"]):
        rows.append(r)
        if len(rows) >= count:
            break
    font = ImageFont.load_default(size=13)
    cell_w, cell_h = CELL + TEXT_W + 2 * PAD, CELL + 2 * PAD
    n_rows = max(1, -(-len(rows) // columns))
    sheet = Image.new("RGB", (columns * cell_w, n_rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    for k, r in enumerate(rows):
        x0, y0 = (k % columns) * cell_w + PAD, (k // columns) * cell_h + PAD
        img = open_image(r["image"]["bytes"], f"{out}: row {r['id']}")
        sheet.paste(img.resize((CELL, CELL), Image.Resampling.LANCZOS), (x0, y0))
        lines = [r["id"]]
        for q in r["questions"]:
            opts = "  " + "  ".join(f"{chr(65 + i)}. {o}" for i, o in enumerate(q["options"])) if q["options"] else ""
            lines += [*textwrap.wrap(f"Q: {q['text']}{opts}", 64), f"   A: {q['answer']}"]
        y = y0
        for line in lines:
            if y > y0 + CELL - 14:
                break
            draw.text((x0 + CELL + PAD, y), line, fill="black", font=font)
            y += 15
    return sheet


def write_preview(out: Path, dest: Path, count: int = 8) -> Path:
    """Write the contact sheet as a PNG; returns its path."""
    from .manifest import atomic_write_bytes

    buf = io.BytesIO()
    contact_sheet(out, count).save(buf, "PNG")
    atomic_write_bytes(dest, buf.getvalue())
    return dest
