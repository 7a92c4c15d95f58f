"""Referring expressions: the shortest attribute phrase that picks out exactly one object."""

from __future__ import annotations

from functools import lru_cache

from .domains import domain_of

# Word order of a description: "the large red metal cube".
WORD_ORDER = ("size", "color", "material", "shape")

PLURALS = {"cross": "crosses", "torus": "tori"}


def plural(shape: str) -> str:
    """A shape's plural (crosses, tori)."""
    return PLURALS.get(shape, shape + "s")


@lru_cache(maxsize=64)
def orders(extras: tuple[str, ...], without: str | None) -> tuple[tuple[str, ...], ...]:
    """Attribute sets tried in order. Color and shape always name an object; the domain's other attributes
    (size; in 3D also material) are added only to tell look-alikes apart: one at a time, then all. A query
    about an attribute never names that attribute."""
    base = [a for a in ("color", "shape") if a != without]
    extra = [a for a in extras if a != without]
    sets = [base] + [[*base, e] for e in extra] + ([[*base, *extra]] if len(extra) > 1 else [])
    return tuple(tuple(a for a in WORD_ORDER if a in s) for s in sets)


def _phrase(o, attrs: tuple[str, ...]) -> str:
    words = [getattr(o, a) for a in attrs if a != "shape"]
    noun = o.shape if "shape" in attrs else "object"
    return "the " + " ".join([*words, noun])


def refer(scene, o, without: str | None = None) -> str | None:
    """The phrase for ``o``, or None if no allowed attribute set is unique in the scene."""
    for attrs in orders(domain_of(scene).attributes, without):
        key = tuple(getattr(o, a) for a in attrs)
        if sum(1 for p in scene.objects if tuple(getattr(p, a) for a in attrs) == key) == 1:
            return _phrase(o, attrs)
    return None


def filter_phrase(color: str | None, shape: str | None, many: bool) -> str:
    """ "red circles", "circles", "red objects" (many) or "red circle", "circle", "red object"."""
    noun = (plural(shape) if many else shape) if shape else ("objects" if many else "object")
    return f"{color} {noun}" if color else noun


def matches(o, color: str | None, shape: str | None) -> bool:
    """Whether an object passes a color and/or shape filter."""
    return (color is None or o.color == color) and (shape is None or o.shape == shape)


def with_article(phrase: str) -> str:
    """A noun phrase with a or an."""
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase
