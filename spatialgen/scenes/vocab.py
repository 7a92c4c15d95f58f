"""The visual vocabulary: shapes, named colors and size classes.

Colors are chosen far apart in CIELAB so that they stay distinct after JPEG compression (a test
compresses each and checks the nearest named color). Shapes are unit-area polygons, so two objects of
the same size class cover the same area whatever their shape, and "bigger" means more area.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Literal

ShapeName = Literal["circle", "square", "triangle", "star", "hexagon", "diamond", "pentagon", "cross"]
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "hexagon", "diamond", "pentagon", "cross")

ColorName = Literal["red", "green", "blue", "yellow", "purple", "orange", "cyan", "brown", "gray", "pink"]
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (215, 38, 38),
    "green": (34, 150, 52),
    "blue": (36, 72, 220),
    "yellow": (242, 212, 24),
    "purple": (128, 52, 170),
    "orange": (246, 134, 18),
    "cyan": (30, 200, 215),
    "brown": (120, 72, 34),
    "gray": (128, 128, 128),
    "pink": (246, 128, 200),
}

SizeName = Literal["small", "medium", "large"]
SIZES: tuple[str, ...] = ("small", "medium", "large")

# Vertices of the circle polygon: the same polygon is drawn and used for geometry, so pixels and
# ground truth agree exactly.
CIRCLE_VERTICES = 48


def _regular(n: int, phase: float = -math.pi / 2) -> list[tuple[float, float]]:
    return [(math.cos(phase + 2 * math.pi * k / n), math.sin(phase + 2 * math.pi * k / n)) for k in range(n)]


def _star(points: int = 5, inner: float = 0.45) -> list[tuple[float, float]]:
    out = []
    for k in range(2 * points):
        r = 1.0 if k % 2 == 0 else inner
        a = -math.pi / 2 + math.pi * k / points
        out.append((r * math.cos(a), r * math.sin(a)))
    return out


def _cross(arm: float = 0.34) -> list[tuple[float, float]]:
    a = arm
    return [(-a, -1), (a, -1), (a, -a), (1, -a), (1, a), (a, a), (a, 1), (-a, 1), (-a, a), (-1, a), (-1, -a), (-a, -a)]


def _area(poly: list[tuple[float, float]]) -> float:
    s = 0.0
    for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1], strict=True):
        s += x0 * y1 - x1 * y0
    return abs(s) / 2


_RAW: dict[str, list[tuple[float, float]]] = {
    "circle": _regular(CIRCLE_VERTICES),
    "square": [(-1, -1), (1, -1), (1, 1), (-1, 1)],
    "triangle": [(0.0, -1.0), (0.866, 0.5), (-0.866, 0.5)],
    "star": _star(),
    "hexagon": _regular(6, 0.0),
    "diamond": [(0.0, -1.0), (0.6, 0.0), (0.0, 1.0), (-0.6, 0.0)],
    "pentagon": _regular(5),
    "cross": _cross(),
}


@cache
def unit_polygon(shape: str) -> tuple[tuple[float, float], ...]:
    """The shape's outline centered at the origin, scaled to area 1 (y points down, as in images)."""
    raw = _RAW[shape]
    k = 1.0 / math.sqrt(_area(raw))
    return tuple((x * k, y * k) for x, y in raw)


@cache
def unit_radius(shape: str) -> float:
    """Circumradius of the unit-area polygon: the bounding circle used for placement."""
    return max(math.hypot(x, y) for x, y in unit_polygon(shape))
