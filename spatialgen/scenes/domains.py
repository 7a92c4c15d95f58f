"""What a question generator needs to know about a kind of scene: its relations and their wordings, its
extremes, its nameable attributes. 2D and 3D scenes share every question program and all balancing."""

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


def _domain2d() -> Domain:
    from .relations import DOMAIN_2D

    return DOMAIN_2D


def _domain3d() -> Domain:
    from .relations3d import DOMAIN_3D

    return DOMAIN_3D


# A scene's ``kind`` names its domain. The relation modules import this one (for Domain), so the registry
# resolves them on first use.
DOMAINS: dict[str, Callable[[], Domain]] = {"2d": _domain2d, "3d": _domain3d}


def domain_of(scene: Any) -> Domain:
    return DOMAINS[scene.kind]()
