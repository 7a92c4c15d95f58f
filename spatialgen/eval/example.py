"""The one schema every source maps to: an Example is a question, its images, and its closed-form answer."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from pydantic import BaseModel, ConfigDict


class Example(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    images: list[bytes | str] = []  # encoded bytes, or a file path
    question: str
    options: list[str] = []  # option texts shown with letters (multiple choice)
    candidates: list[str]  # what is scored; the answer is one of them
    answer: str
    answer_type: str  # yes_no | true_false | multiple_choice | number | word
    context: str | None = None  # text standing in for the image in text-only controls
    categories: dict[str, str] = {}  # split, family, relation, difficulty, ...
    twin_id: str | None = None
    twin_role: str | None = None
    probe: bool = False
    paper_prompt: str | None = None  # the exact text the paper's evaluation asks (CV-Bench), for --prompt paper

    @property
    def key(self) -> str:
        """Unique within an evaluation: ids are unique only within their source."""
        return f"{self.source}/{self.id}"


def load_images(ex: Example) -> list[Image.Image]:
    """The example's images as RGB PIL images (bytes decoded, paths opened)."""
    from spatialgen.errors import SpatialgenError

    out = []
    for im in ex.images:
        src = io.BytesIO(im) if isinstance(im, bytes) else Path(im)
        try:
            out.append(Image.open(src).convert("RGB"))
        except (OSError, ValueError, Image.DecompressionBombError):
            where = "its image bytes" if isinstance(im, bytes) else im
            raise SpatialgenError(f"{ex.source} example {ex.id}: {where} is not a readable image") from None
    return out


def pad_to_square(img: Image.Image, fill: tuple[int, ...]) -> Image.Image:
    """LLaVA's ``expand2square`` (image_aspect_ratio "pad"): the image centred on a square of ``fill``, so
    the processor's center crop cuts nothing off."""
    w, h = img.size
    if w == h:
        return img
    side = max(w, h)
    out = Image.new(img.mode, (side, side), fill)
    out.paste(img, ((side - w) // 2, (side - h) // 2))
    return out


@dataclass
class LoadResult:
    """Examples, plus what could not be used and why (counted, never a crash)."""

    examples: list[Example] = field(default_factory=list)
    problems: Counter[str] = field(default_factory=Counter)

    def add(self, ex: Example, limit: int | None) -> bool:
        """Append; False once ``limit`` examples are in."""
        self.examples.append(ex)
        return limit is None or len(self.examples) < limit
