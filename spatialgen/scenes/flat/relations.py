"""The geometry of flat (2D) scenes: each relation's verdict in pixels, with its margin, and the 2D ``Domain``.

A relation answers True, False, or None. None means the pair sits inside the relation's ambiguity
margin: such a pair is never asked about. Margins live in the scene (``scene.margins``), so every answer
re-derives from the stored scene alone. Pixel coordinates: x grows to the right, y grows downward.
Only a relation's own geometry is here; its inverse wording (right of, below, smaller, ...) follows from it
as scenes/domain.py defines once for every domain. A 3D scene's geometry (relations3d.py) shares names
where it shares a meaning in words, but is judged in the camera frame and world units: a flat "left of"
also needs the box edges in order, a camera-frame one only the centres.
"""

from __future__ import annotations

import math

from ..domain import Domain, Relation, Verdict, negation, signed, table, with_inverse
from ..vocab import COLORS, SHAPES, SIZES
from .geometry import in_contact, overlap_and_gap
from .scene import Obj, Scene


def bbox(o: Obj) -> tuple[float, float, float, float]:
    return o.bbox()  # cached by the object's placement (scene.py)


_NOTHING: dict = {}


def _seen(s: Scene, o: Obj):
    """The visible part of a covered object when relations are judged on what is seen, else None."""
    m = s.margins
    return s.visible.get(o.id) if m.strict and m.visible_geometry else None


def seen_center(s: Scene, o: Obj) -> tuple[float, float]:
    """The centre every positional relation judges: of the visible part under the perceptual rules."""
    v = _seen(s, o)
    return (o.x, o.y) if v is None else (v.x, v.y)


def _area(s: Scene, o: Obj) -> float:
    v = _seen(s, o)
    return o.area if v is None else v.area


def _dist(s: Scene, a: Obj, b: Obj) -> float:
    (ax, ay), (bx, by) = seen_center(s, a), seen_center(s, b)
    return math.hypot(ax - bx, ay - by)


def _axis(s: Scene, a: Obj, b: Obj, axis: int) -> Verdict:
    """Is A before B along an axis (0: x, 1: y)? Centers decide, with the margin; the boxes' near and
    far edges must agree, so a big object is never called "left of" a small one it sticks out past. With
    the perceptual rules (``margins.strict``): centres and boxes of what is visible, and extents that share
    more than ``axis_overlap_max`` of the narrower one's extent are a tie (one sits over the other)."""
    m = s.margins
    vis = s.visible if m.strict and m.visible_geometry else _NOTHING  # looked up once: this runs most
    va, vb = vis.get(a.id), vis.get(b.id)
    ca = (a.x, a.y)[axis] if va is None else (va.x, va.y)[axis]
    cb = (b.x, b.y)[axis] if vb is None else (vb.x, vb.y)[axis]
    v = signed(cb - ca, m.margin_px)
    if v is None:
        return None
    ba = bbox(a) if va is None else va.bbox
    bb = bbox(b) if vb is None else vb.bbox
    lo_a, hi_a, lo_b, hi_b = ba[axis], ba[axis + 2], bb[axis], bb[axis + 2]
    edges = (lo_a < lo_b and hi_a < hi_b) if v else (lo_a > lo_b and hi_a > hi_b)
    if not edges:
        return None
    if m.strict and min(hi_a, hi_b) - max(lo_a, lo_b) > m.axis_overlap_max * min(hi_a - lo_a, hi_b - lo_b):
        return None
    return v


def left_of(s: Scene, a: Obj, b: Obj) -> Verdict:
    return _axis(s, a, b, 0)


def above(s: Scene, a: Obj, b: Obj) -> Verdict:
    return _axis(s, a, b, 1)


def near(s: Scene, a: Obj, b: Obj) -> Verdict:
    d = _dist(s, a, b)
    if d <= s.margins.near_px:
        return True
    if d >= s.margins.far_px:
        return False
    return None


def bigger(s: Scene, a: Obj, b: Obj) -> Verdict:
    # Asked only when the size classes differ and agree with the areas, so that "the large X" is
    # never claimed smaller than "the small Y".
    ca, cb = SIZES.index(a.size), SIZES.index(b.size)
    r = s.margins.size_ratio
    # What is visible must agree too: a large object half hidden behind another can look the smaller.
    va, vb = _area(s, a), _area(s, b)
    if a.area >= r * b.area and ca > cb and va >= r * vb:
        return True
    if b.area >= r * a.area and cb > ca and vb >= r * va:
        return False
    return None


def overlaps(s: Scene, a: Obj, b: Obj) -> Verdict:
    inter, gap = overlap_and_gap(a, b)
    if inter >= s.margins.overlap_min_frac * min(a.area, b.area):
        return True
    if inter == 0.0 and gap >= s.margins.touch_gap_px:
        return False
    return None


def _drawn_later(s: Scene, a: Obj, b: Obj) -> bool:
    return s.objects.index(a) > s.objects.index(b)


def in_front_of(s: Scene, a: Obj, b: Obj) -> Verdict:
    """2D depth: of two overlapping objects, the one drawn later covers the other. Asked only where the
    overlap is large enough to see which covers which (``occlusion_min_frac`` of the smaller area)."""
    if a.color == b.color:  # one blob: no edge shows which covers which
        return None
    inter, _ = overlap_and_gap(a, b)
    if inter < s.margins.occlusion_min_frac * min(a.area, b.area):
        return None
    return _drawn_later(s, a, b)


def between(s: Scene, o: Obj, a: Obj, b: Obj) -> Verdict:
    """O lies between A and B: its centre projects onto the segment A-B at least ``margin_px`` from either
    end, within a corridor as wide as A and B (the mean of their bounding radii) less ``margin_px``; clearly
    outside past an end or the corridor by ``margin_px``; in between those bands, never asked."""
    (ax, ay), (bx, by), (ox, oy) = seen_center(s, a), seen_center(s, b), seen_center(s, o)
    length = math.hypot(bx - ax, by - ay)
    if length == 0:
        return None
    ux, uy = (bx - ax) / length, (by - ay) / length
    t = (ox - ax) * ux + (oy - ay) * uy
    d = abs((ox - ax) * uy - (oy - ay) * ux)
    corridor, m = (a.radius + b.radius) / 2, s.margins.margin_px
    if m <= t <= length - m and d <= corridor - m:
        return True
    if t <= -m or t >= length + m or d >= corridor + m:
        return False
    return None


def closer(s: Scene, a: Obj, b: Obj, c: Obj) -> Verdict:
    """Is A closer to C than B is? The gap must clear ``margin_px`` and the ratio of the two distances
    ``distance_ratio`` (Weber: 204 against 213 px, 4 % apart, is no question a person can answer)."""
    da, db = _dist(s, a, c), _dist(s, b, c)
    v = signed(db - da, s.margins.margin_px)
    if v is None or max(da, db) < s.margins.distance_ratio * min(da, db):
        return None
    return v


RELATIONS: dict[str, Relation] = table(
    with_inverse(
        Relation(
            "left_of",
            "left_right",
            "A's center is to the left of B's center",
            "x_B - x_A >= margin_px, box edges in the same order, x-extents share <= axis_overlap_max",
            left_of,
            "right_of",
        ),
        "right_of",
        "A's center is to the right of B's center",
        "x_A - x_B >= margin_px, box edges in the same order, x-extents share <= axis_overlap_max",
    ),
    with_inverse(
        Relation(
            "above",
            "above_below",
            "A's center is higher in the image than B's",
            "y_B - y_A >= margin_px, box edges in the same order, y-extents share <= axis_overlap_max",
            above,
            "below",
        ),
        "below",
        "A's center is lower in the image than B's",
        "y_A - y_B >= margin_px, box edges in the same order, y-extents share <= axis_overlap_max",
    ),
    with_inverse(
        Relation(
            "near",
            "near_far",
            "the centers are at most near_px apart",
            "near if d <= near_px, far if d >= far_px, never asked between",
            near,
            "far",
        ),
        "far",
        "the centers are at least far_px apart",
        by=negation,
    ),
    with_inverse(
        Relation(
            "bigger",
            "size",
            "A's area is at least size_ratio times B's, and A's size class is larger",
            "area ratio >= size_ratio (visible areas too), size classes differ in the same direction",
            bigger,
            "smaller",
        ),
        "smaller",
        "B is bigger than A",
    ),
    Relation(
        "overlaps",
        "overlap",
        "the outlines share at least overlap_min_frac of the smaller area",
        "no if the outlines are at least touch_gap_px apart; never asked between",
        overlaps,
        "",
    ),
    with_inverse(
        Relation(
            "in_front_of",
            "occlusion",
            "A covers part of B (drawn after it)",
            "the overlap covers >= occlusion_min_frac of the smaller area, colours differ; never asked otherwise",
            in_front_of,
            "behind",
        ),
        "behind",
        "B covers part of A",
    ),
    with_inverse(
        Relation(
            "closer",
            "closer",
            "A's center is nearer C's center than B's center is",
            "|d(B,C) - d(A,C)| >= margin_px and the farther distance >= distance_ratio x the nearer",
            closer,
            "farther",
        ),
        "farther",
        "A's center is farther from C's center than B's center is",
    ),
)


def countable(s: Scene, objects: list[Obj]) -> bool:
    """Can a person count (or find) these objects? Not if one touches another of its colour: the two fuse
    into one blob (``margins.separable_counts``, with the perceptual rules on)."""
    m = s.margins
    if not (m.strict and m.separable_counts):
        return True
    return not any(
        in_contact(o, q, m.touch_gap_px) for o in objects for q in s.objects if q is not o and q.color == o.color
    )


# Families whose answer flips when the asked pair swaps places: the ones a twin can probe.
TWIN_FAMILIES: tuple[str, ...] = ("left_right", "above_below", "closer")


def _domain() -> Domain:
    return Domain(
        relations=RELATIONS,
        binary={
            "left_right": ("left_of", "right_of"),
            "above_below": ("above", "below"),
            "near_far": ("near", "far"),
            "size": ("bigger", "smaller"),
            "closer": ("closer", "farther"),
            "occlusion": ("in_front_of", "behind"),
        },
        searched={"overlap": "overlaps"},
        extremes={"leftmost": "left_of", "rightmost": "right_of", "topmost": "above", "bottommost": "below"},
        attributes=("size",),
        queries={"color": tuple(COLORS), "shape": SHAPES},
        twin_families=TWIN_FAMILIES,
        countable=countable,
        between=between,
    )


DOMAIN_2D = _domain()
