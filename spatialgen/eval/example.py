"""The one schema every source maps to: an Example is a question, its images, and its closed-form answer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from PIL import Image
from pydantic import BaseModel, ConfigDict


class Example(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    images: list[bytes | str] = []  # encoded bytes, or a file path
    question: str
    options: list[str] = []  # option texts shown with letters (multiple choice)
    candidates: list[str]  # what is scored; the answer is one of them (open: the answer alone, never scored)
    answer: str
    # yes_no | true_false | multiple_choice | number | word: closed, scored over the candidates;
    # open: a free word or phrase (GQA), answered only by generation and compared after normalization
    answer_type: str
    context: str | None = None  # text standing in for the image in text-only controls
    categories: dict[str, str] = {}  # split, family, relation, difficulty, ...
    twin_id: str | None = None
    twin_role: str | None = None
    probe: bool = False
    paper_prompt: str | None = None  # the exact text the paper's evaluation asks (CV-Bench), for --prompt paper
    captions: list[str] = []  # reference captions of the image (COCO): the text diagnose norms embeds
    references: list[str] = []  # every human answer, for a metric scored against all of them (VQAv2's 10)

    @property
    def key(self) -> str:
        """Unique within an evaluation: ids are unique only within their source."""
        return f"{self.source}/{self.id}"


def open_answer(text: str) -> str:
    """An open answer (a reply or a reference) as GQA's evaluations compare it: stripped, lower-cased, a final
    period dropped (the paper's grader_gqa.py ``normalize_answer``; LLaVA's convert_gqa_for_eval.py alike)."""
    return text.strip().lower().rstrip(".")


def load_images(ex: Example) -> list[Image.Image]:
    """The example's images as RGB PIL images (bytes decoded, paths opened), each bounded in pixels."""
    from spatialgen.untrusted import open_image

    return [
        open_image(im, f"{ex.source} example {ex.id}: " + ("its image bytes" if isinstance(im, bytes) else im))
        for im in ex.images
    ]


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
    first: dict[str, str] = field(default_factory=dict)  # per problem, where it was first seen and why

    def note(self, problem: str, detail: str) -> None:
        """Count one row not used; the first of each kind keeps its row, file and field for the message."""
        self.problems[problem] += 1
        self.first.setdefault(problem, detail)

    def described(self) -> str:
        """The problems in one line: each count, and where the first of it was."""
        return "; ".join(
            f"{k}: {v}" + (f" (first: {self.first[k]})" if k in self.first else "")
            for k, v in sorted(self.problems.items())
        )

    def add(self, ex: Example, limit: int | None) -> bool:
        """Append; False once ``limit`` examples are in."""
        self.examples.append(ex)
        return limit is None or len(self.examples) < limit
