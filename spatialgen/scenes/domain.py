"""What a question generator needs to know about a kind of scene: its relations and their wordings, its
extremes, its nameable attributes. 2D and 3D scenes share every question program and all balancing; each
domain's relations module supplies only its geometry (flat/relations.py: flat scenes in pixels, world/relations.py:
the camera frame in world units) and builds its ``Domain`` from it; scenes/domains.py names them.

What every domain shares is defined here, once: a relation's record, the margin rule (``signed``), how an
inverse wording follows from its relation (``converse``: the arguments swapped; ``negation``: the verdict
flipped), and what an extreme is (``extreme_of``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Verdict = bool | None  # None: inside the relation's ambiguity margin, never asked


def signed(d: float, margin: float) -> Verdict:
    """True if d >= margin, False if d <= -margin, None inside the margin."""
    if d >= margin:
        return True
    if d <= -margin:
        return False
    return None


def converse(holds: Callable[..., Verdict]) -> Callable[..., Verdict]:
    """The relation read the other way: A R' B exactly when B R A (right of / left of, smaller / bigger)."""

    def swapped(s: Any, a: Any, b: Any, *rest: Any) -> Verdict:
        return holds(s, b, a, *rest)

    return swapped


def negation(holds: Callable[..., Verdict]) -> Callable[..., Verdict]:
    """The complementary wording of a relation with two bands (far / near): flipped, its margin kept."""

    def flipped(s: Any, *objects: Any) -> Verdict:
        v = holds(s, *objects)
        return None if v is None else not v

    return flipped


@dataclass(frozen=True)
class Relation:
    name: str
    family: str
    words: str
    margin: str
    holds: Callable[..., Verdict]
    inverse: str  # the relation with the same arguments whose truth is this one's negation


def with_inverse(
    r: Relation, name: str, words: str, margin: str = "", by: Callable = converse
) -> tuple[Relation, Relation]:
    """A relation and its inverse wording, whose verdict follows from it (``by``: converse or negation)."""
    return r, Relation(name, r.family, words, margin or f"as for {r.name}", by(r.holds), r.name)


def table(*entries: Relation | tuple[Relation, ...]) -> dict[str, Relation]:
    """Relations by name, in the order given (pairs from ``with_inverse`` flattened)."""
    flat = [r for e in entries for r in (e if isinstance(e, tuple) else (e,))]
    return {r.name: r for r in flat}


def extreme_of(s: Any, holds: Callable[..., Verdict]) -> int | None:
    """Id of the object that holds ``holds`` against every other one (margins included), or None: a lone
    object is no extreme."""
    if len(s.objects) < 2:
        return None
    for a in s.objects:
        if all(holds(s, a, b) for b in s.objects if b is not a):
            return a.id
    return None


@dataclass(frozen=True)
class Domain:
    relations: dict[str, Relation]
    binary: dict[str, tuple[str, str]]  # yes/no family -> (relation, its inverse)
    searched: dict[str, str]  # yes/no family without an inverse wording -> relation (pairs searched by truth)
    # Extremes: which object is furthest in a direction (direction -> the relation the winner must hold
    # against every other object), asked only if it leads the runner-up by that relation's margin.
    extremes: dict[str, str]
    attributes: tuple[str, ...]  # nameable, in the order they are added to a description
    queries: dict[str, tuple[str, ...]]  # attribute question -> its vocabulary
    twin_families: tuple[str, ...]
    # Whether a set of objects can be counted as separate things (2D: same-colour contact fuses them).
    countable: Callable[[Any, list], bool] = lambda scene, objects: True
    # between(scene, o, a, b) -> True/False/None, for "is there X between A and B?"; None: not asked here.
    between: Callable[..., Any] | None = None

    def extreme(self, s: Any, direction: str) -> int | None:
        """Id of the object furthest in ``direction`` (``extremes``), or None where none leads clearly."""
        return extreme_of(s, self.relations[self.extremes[direction]].holds)
