"""What a question generator needs to know about a kind of scene: its relations and their wordings, its
extremes, its nameable attributes. 2D and 3D scenes share every question program and all balancing; each
domain's relations module builds its ``Domain`` (relations.py: DOMAIN_2D, relations3d.py: DOMAIN_3D) and
scenes/domains.py names them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Domain:
    relations: dict[str, Any]  # name -> Relation
    binary: dict[str, tuple[str, str]]  # yes/no family -> (relation, its inverse)
    searched: dict[str, str]  # yes/no family without an inverse wording -> relation (pairs searched by truth)
    extremes: tuple[str, ...]
    extreme: Callable[[Any, str], int | None]
    attributes: tuple[str, ...]  # nameable, in the order they are added to a description
    queries: dict[str, tuple[str, ...]]  # attribute question -> its vocabulary
    twin_families: tuple[str, ...]
    # Whether a set of objects can be counted as separate things (2D: same-colour contact fuses them).
    countable: Callable[[Any, list], bool] = lambda scene, objects: True
    # between(scene, o, a, b) -> True/False/None, for "is there X between A and B?"; None: not asked here.
    between: Callable[..., Any] | None = None
