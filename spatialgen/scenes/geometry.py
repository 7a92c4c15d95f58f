"""Exact polygon geometry (shapely) for the relations that depend on outlines, not just centers."""

from __future__ import annotations

from collections.abc import Sequence

from shapely import Polygon, unary_union

from .model import Obj


def polygon(o: Obj) -> Polygon:
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
