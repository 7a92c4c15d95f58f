"""Exact polygon geometry (shapely) for the relations that depend on outlines, not just centers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shapely import Polygon, unary_union

if TYPE_CHECKING:  # the scene model computes its visible parts here: a runtime import would be a cycle
    from .scene import Obj


def polygon(o: Obj) -> Polygon:
    """An object's exact outline as a shapely polygon."""
    return Polygon(o.polygon())


def overlap_and_gap(a: Obj, b: Obj) -> tuple[float, float]:
    """(intersection area, gap between outlines); the gap is 0 when they touch or overlap."""
    if (a.x - b.x) ** 2 + (a.y - b.y) ** 2 > (a.radius + b.radius) ** 2:
        # Bounding circles apart: no overlap; the outline gap is at least the circles' gap.
        pa, pb = polygon(a), polygon(b)
        return 0.0, pa.distance(pb)
    pa, pb = polygon(a), polygon(b)
    return pa.intersection(pb).area, pa.distance(pb)


def visible_fractions(objects: Sequence[Obj]) -> list[float]:
    """Share of each object's area not covered by objects drawn after it (later ids are on top)."""
    polys = [polygon(o) for o in objects]
    out = []
    for i, (o, p) in enumerate(zip(objects, polys, strict=True)):
        above = [
            q
            for o2, q in zip(objects[i + 1 :], polys[i + 1 :], strict=True)
            if (o.x - o2.x) ** 2 + (o.y - o2.y) ** 2 < (o.radius + o2.radius) ** 2
        ]
        if not above:
            out.append(1.0)
            continue
        out.append(p.difference(unary_union(above)).area / p.area)
    return out


@dataclass(frozen=True, slots=True)
class Visible:
    """What can be seen of a partly covered object: the centroid, box and area of its visible part."""

    x: float
    y: float
    bbox: tuple[float, float, float, float]
    area: float


def visible_parts(objects: Sequence[Obj]) -> dict[int, Visible]:
    """The visible part of every object that one drawn after it covers (later ids are on top); objects seen
    whole are left out. No shapely work unless bounding circles meet."""
    out: dict[int, Visible] = {}
    for i, o in enumerate(objects):
        above = [o2 for o2 in objects[i + 1 :] if (o.x - o2.x) ** 2 + (o.y - o2.y) ** 2 < (o.radius + o2.radius) ** 2]
        if not above:
            continue
        part = polygon(o).difference(unary_union([polygon(q) for q in above]))
        if part.is_empty:
            continue
        if part.area < polygon(o).area * (1 - 1e-9):
            c = part.centroid
            out[o.id] = Visible(c.x, c.y, tuple(part.bounds), part.area)
    return out


def in_contact(a: Obj, b: Obj, gap: float) -> bool:
    """Do the outlines overlap or come within ``gap`` of each other?"""
    if (a.x - b.x) ** 2 + (a.y - b.y) ** 2 >= (a.radius + b.radius + gap) ** 2:
        return False
    return polygon(a).distance(polygon(b)) < gap
