"""The scene domains by name: a scene's ``kind`` ("2d", "3d") picks the Domain (scenes/domain.py) its
questions are drawn and answered with."""

from __future__ import annotations

from typing import Any

from .domain import Domain
from .flat.relations import DOMAIN_2D
from .world.relations import DOMAIN_3D

DOMAINS: dict[str, Domain] = {"2d": DOMAIN_2D, "3d": DOMAIN_3D}


def domain_of(scene: Any) -> Domain:
    """The Domain a scene's questions are drawn and answered with."""
    return DOMAINS[scene.kind]
