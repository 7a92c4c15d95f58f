"""Referring expressions: the shortest attribute phrase that picks out exactly one object."""

from __future__ import annotations

from .model import Obj, Scene

# Attribute sets tried in order. Color and shape always name an object; size is added only to
# tell look-alikes apart. A query about an attribute never names that attribute.
_ORDERS: dict[str | None, tuple[tuple[str, ...], ...]] = {
    None: (("color", "shape"), ("size", "color", "shape")),
    "color": (("shape",), ("size", "shape")),
    "shape": (("color",), ("size", "color")),
}

PLURALS = {"cross": "crosses"}


def plural(shape: str) -> str:
    return PLURALS.get(shape, shape + "s")


def _phrase(o: Obj, attrs: tuple[str, ...]) -> str:
    words = [getattr(o, a) for a in attrs if a != "shape"]
    noun = o.shape if "shape" in attrs else "object"
    return "the " + " ".join([*words, noun])


def refer(scene: Scene, o: Obj, without: str | None = None) -> str | None:
    """The phrase for ``o``, or None if no allowed attribute set is unique in the scene."""
    for attrs in _ORDERS[without]:
        key = tuple(getattr(o, a) for a in attrs)
        if sum(1 for p in scene.objects if tuple(getattr(p, a) for a in attrs) == key) == 1:
            return _phrase(o, attrs)
    return None


def filter_phrase(color: str | None, shape: str | None, many: bool) -> str:
    """ "red circles", "circles", "red objects" (many) or "red circle", "circle", "red object"."""
    noun = (plural(shape) if many else shape) if shape else ("objects" if many else "object")
    return f"{color} {noun}" if color else noun


def matches(o: Obj, color: str | None, shape: str | None) -> bool:
    return (color is None or o.color == color) and (shape is None or o.shape == shape)


def with_article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase
