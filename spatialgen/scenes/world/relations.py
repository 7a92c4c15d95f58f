"""The geometry of 3D scenes: each relation's verdict in the camera frame (world units), with its margin,
and the 3D ``Domain``.

True / False / None as in 2D: None means inside the margin, never asked. Inverse wordings (right of,
behind, far, ...) follow from their relation as scenes/domain.py defines once for every domain.
"""

from __future__ import annotations

import math

from ..domain import Domain, Relation, Verdict, negation, signed, table, with_inverse
from ..vocab import COLORS, SIZES
from .scene import MATERIALS, SHAPES3D, Obj3D, Scene3D


def _cx(s: Scene3D, o: Obj3D) -> float:
    return s.cam[o.id][0]


def _ground_depth(s: Scene3D, o: Obj3D) -> float:
    """How far along the camera's view, projected onto the ground plane, an object stands: CLEVR's
    front/behind (its render script projects the camera's directions onto z = 0). Height plays no part, so a
    cube resting on a cylinder is neither in front of nor behind it; "closer to the camera" is its own
    relation."""
    fx, fy = s.camera.ground_forward
    return o.x * fx + o.y * fy


def left_of(s: Scene3D, a: Obj3D, b: Obj3D) -> Verdict:
    return signed(_cx(s, b) - _cx(s, a), s.margins.margin)


def in_front_of(s: Scene3D, a: Obj3D, b: Obj3D) -> Verdict:
    return signed(_ground_depth(s, b) - _ground_depth(s, a), s.margins.margin)


def on_top_of(s: Scene3D, a: Obj3D, b: Obj3D) -> Verdict:
    """Exact from the scene graph: A rests on B."""
    return a.on == b.id


def _dist(a: Obj3D, b: Obj3D) -> float:
    return math.dist((a.x, a.y, a.z), (b.x, b.y, b.z))


def near(s: Scene3D, a: Obj3D, b: Obj3D) -> Verdict:
    d = _dist(a, b)
    if d <= s.margins.near:
        return True
    if d >= s.margins.far:
        return False
    return None


def bigger(s: Scene3D, a: Obj3D, b: Obj3D) -> Verdict:
    ca, cb, r = SIZES.index(a.size), SIZES.index(b.size), s.margins.size_ratio
    if a.volume >= r * b.volume and ca > cb:
        return True
    if b.volume >= r * a.volume and cb > ca:
        return False
    return None


def _cam_dist(s: Scene3D, o: Obj3D) -> float:
    return math.dist((o.x, o.y, o.z), s.camera.location)


def closer_to_camera(s: Scene3D, a: Obj3D, b: Obj3D) -> Verdict:
    return signed(_cam_dist(s, b) - _cam_dist(s, a), s.margins.camera_margin)


RELATIONS_3D: dict[str, Relation] = table(
    with_inverse(
        Relation(
            "left_of",
            "left_right",
            "A's center is left of B's in the camera frame",
            "x_B - x_A >= margin (camera frame)",
            left_of,
            "right_of",
        ),
        "right_of",
        "A's center is right of B's in the camera frame",
        "as for left_of",
    ),
    with_inverse(
        Relation(
            "in_front_of",
            "front_behind",
            "A stands nearer than B along the viewing direction projected onto the ground (CLEVR's front)",
            "ground depth_B - ground depth_A >= margin (height ignored: stacked objects are never asked)",
            in_front_of,
            "behind",
        ),
        "behind",
        "A stands farther than B along the viewing direction projected onto the ground",
    ),
    Relation("on_top_of", "on_top", "A rests on B", "exact (scene graph)", on_top_of, ""),
    with_inverse(
        Relation(
            "near", "near_far", "the centers are at most `near` apart", "never asked between near and far", near, "far"
        ),
        "far",
        "the centers are at least `far` apart",
        by=negation,
    ),
    with_inverse(
        Relation(
            "bigger",
            "size",
            "A's volume is at least size_ratio times B's, and its size class is larger",
            "volume ratio and size classes agree",
            bigger,
            "smaller",
        ),
        "smaller",
        "B is bigger than A",
    ),
    with_inverse(
        Relation(
            "closer_to_camera",
            "camera_distance",
            "A's center is nearer the camera than B's",
            "|d_B - d_A| >= camera_margin",
            closer_to_camera,
            "farther_from_camera",
        ),
        "farther_from_camera",
        "A's center is farther from the camera than B's",
    ),
)


def _domain() -> Domain:
    return Domain(
        relations=RELATIONS_3D,
        binary={
            "left_right": ("left_of", "right_of"),
            "front_behind": ("in_front_of", "behind"),
            "near_far": ("near", "far"),
            "size": ("bigger", "smaller"),
            "camera_distance": ("closer_to_camera", "farther_from_camera"),
        },
        searched={"on_top": "on_top_of"},
        extremes={"leftmost": "left_of", "rightmost": "right_of", "frontmost": "in_front_of", "backmost": "behind"},
        attributes=("size", "material"),
        queries={"color": tuple(COLORS), "shape": SHAPES3D, "material": MATERIALS},
        twin_families=("left_right", "front_behind", "camera_distance"),
    )


DOMAIN_3D = _domain()
