"""The scene graph: plain, frozen data with no rendering and no I/O (Kubric's "a scene is data").

Coordinates are image pixels, x to the right and y downward. An object's geometry is a pure function of
its fields, so the stored scene alone re-derives every answer and re-renders every pixel.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import ClassVar

from .config import Margins
from .vocab import COLORS, unit_polygon, unit_radius


@dataclass(frozen=True, slots=True)
class Obj:
    id: int
    shape: str
    color: str
    size: str  # size class name: small, medium, large
    scale: float  # side in px of the square of equal area, so area == scale**2
    x: float
    y: float
    rotation: float = 0.0  # degrees, clockwise on screen
    outline: bool = False
    texture: str = "solid"  # solid | striped

    @property
    def rgb(self) -> tuple[int, int, int]:
        return COLORS[self.color]

    @property
    def area(self) -> float:
        return self.scale * self.scale

    @property
    def radius(self) -> float:
        """Radius of the bounding circle around the center."""
        return self.scale * unit_radius(self.shape)

    def polygon(self) -> list[tuple[float, float]]:
        """Outline vertices in pixels: what is drawn, and what overlap is computed on."""
        c, s = math.cos(math.radians(self.rotation)), math.sin(math.radians(self.rotation))
        k = self.scale
        return [(self.x + k * (u * c - v * s), self.y + k * (u * s + v * c)) for u, v in unit_polygon(self.shape)]

    def bbox(self) -> tuple[float, float, float, float]:
        pts = self.polygon()
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        return (min(xs), min(ys), max(xs), max(ys))


@dataclass(frozen=True, slots=True)
class Stroke:
    """A background clutter line, drawn under the objects."""

    x0: float
    y0: float
    x1: float
    y1: float
    gray: int
    width: float


@dataclass(frozen=True)
class Scene:
    kind: ClassVar[str] = "2d"  # its domain (scenes/domains.py)
    width: int
    height: int
    objects: tuple[Obj, ...]
    margins: Margins
    background: tuple[int, int, int] = (240, 240, 240)
    clutter: tuple[Stroke, ...] = ()
    noise: float = 0.0
    noise_seed: int = 0

    @cached_property
    def by_id(self) -> dict[int, Obj]:
        return {o.id: o for o in self.objects}

    @cached_property
    def visible(self) -> dict:
        """Object id -> the visible part (``geometry.Visible``) of each object a later one covers."""
        from .geometry import visible_parts

        return visible_parts(self.objects)

    def with_positions(self, moves: dict[int, tuple[float, float]]) -> Scene:
        """A copy in which the named objects sit at new centers (used for twins)."""
        objs = tuple(
            Obj(**{**asdict(o), "x": moves[o.id][0], "y": moves[o.id][1]}) if o.id in moves else o for o in self.objects
        )
        return Scene(
            self.width, self.height, objs, self.margins, self.background, self.clutter, self.noise, self.noise_seed
        )
