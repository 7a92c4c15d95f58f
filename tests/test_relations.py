"""Each relation at and beyond its margin, on hand-built scenes."""

from __future__ import annotations

import pytest

from spatialgen.scenes.flat.config import Margins
from spatialgen.scenes.flat.relations import DOMAIN_2D, RELATIONS
from spatialgen.scenes.flat.scene import Obj, Scene

# The centre-and-edge margins on their own (strict: false); the perceptual rules on top of them are tested
# in tests/test_perceptual.py.
M = Margins(margin_px=10, near_px=50, far_px=100, size_ratio=1.5, overlap_min_frac=0.05, touch_gap_px=4, strict=False)


def obj(i, x, y, scale=10.0, size="medium", shape="circle"):
    return Obj(id=i, shape=shape, color="red", size=size, scale=scale, x=x, y=y)


def scene(*objs, margins=M):
    return Scene(300, 300, tuple(objs), margins)


def rel(name, s, *ids):
    return RELATIONS[name].holds(s, *(s.by_id[i] for i in ids))


@pytest.mark.parametrize(
    ("name", "axis", "sign"), [("left_of", 0, 1), ("right_of", 0, -1), ("above", 1, 1), ("below", 1, -1)]
)
def test_positional_margin(name, axis, sign):
    def at(d):
        b = (100 + d, 100) if axis == 0 else (100, 100 + d)
        return rel(name, scene(obj(0, 100, 100), obj(1, *b)), 0, 1)

    assert at(sign * 10) is True  # exactly at the margin: asked
    assert at(sign * 9.99) is None  # inside: never asked
    assert at(-sign * 10) is False
    assert at(0) is None


def test_left_of_needs_box_edges_to_agree():
    # A big object 12 px left of a small one whose left edge is still further left: ambiguous.
    big, small = obj(0, 100, 100, scale=60, size="large"), obj(1, 112, 100, scale=5, size="small")
    assert rel("left_of", scene(big, small), 0, 1) is None
    assert rel("left_of", scene(big, obj(1, 200, 100, scale=5, size="small")), 0, 1) is True


def test_inverse_pairs_negate_outside_margin():
    s = scene(obj(0, 50, 60, scale=20, size="large"), obj(1, 150, 200, scale=8, size="small"), obj(2, 60, 230))
    for r in RELATIONS.values():
        if not r.inverse or r.family == "occlusion":  # needs overlapping objects: its own test below
            continue
        args = (0, 1, 2) if r.family == "closer" else (0, 1)
        v, w = rel(r.name, s, *args), rel(r.inverse, s, *args)
        assert v is not None and w == (not v), r.name


def test_near_far_margins():
    def d(dist):
        return scene(obj(0, 100, 100), obj(1, 100 + dist, 100))

    assert rel("near", d(50), 0, 1) is True
    assert rel("near", d(50.01), 0, 1) is None
    assert rel("near", d(99.99), 0, 1) is None
    assert rel("near", d(100), 0, 1) is False
    assert rel("far", d(100), 0, 1) is True


def test_bigger_ratio_and_class_agreement():
    a = obj(0, 50, 50, scale=15, size="large")
    assert rel("bigger", scene(a, obj(1, 200, 200, scale=12, size="small")), 0, 1) is True  # ratio 1.56
    assert rel("bigger", scene(a, obj(1, 200, 200, scale=13, size="small")), 0, 1) is None  # ratio 1.33
    # Ratio clear but the classes disagree (a "small" object that is bigger): never asked.
    assert (
        rel("bigger", scene(obj(0, 50, 50, scale=15, size="small"), obj(1, 200, 200, scale=5, size="large")), 0, 1)
        is None
    )


def test_overlap_margins():
    # Two unit-area-scaled squares of side 20: overlapping by half, touching, and 4 px apart.
    def sq(x):
        return scene(obj(0, 100, 100, scale=20, shape="square"), obj(1, x, 100, scale=20, shape="square"))

    assert rel("overlaps", sq(110), 0, 1) is True
    assert rel("overlaps", sq(120), 0, 1) is None  # touching: inside the margin
    assert rel("overlaps", sq(123.99), 0, 1) is None
    assert rel("overlaps", sq(124), 0, 1) is False


def test_closer_margin():
    c = obj(2, 0, 0)
    weber = M.model_copy(update={"distance_ratio": 1.0})  # the flat margin alone
    assert rel("closer", scene(obj(0, 100, 0), obj(1, 110, 0), c, margins=weber), 0, 1, 2) is True
    assert rel("closer", scene(obj(0, 100, 0), obj(1, 109, 0), c, margins=weber), 0, 1, 2) is None
    assert rel("closer", scene(obj(0, 110, 0), obj(1, 100, 0), c, margins=weber), 0, 1, 2) is False


def test_closer_needs_a_ratio_the_eye_resolves():
    # The hard preset once asked "Is the green pentagon closer to the purple pentagon than the red triangle
    # is?" at 204 against 213 px: 9 px clears its flat 8 px margin, but 4 % is below what a person can tell.
    c = obj(2, 0, 0)
    hard = M.model_copy(update={"margin_px": 8, "distance_ratio": 1.15})
    assert rel("closer", scene(obj(0, 204, 0), obj(1, 213, 0), c, margins=hard), 0, 1, 2) is None
    assert rel("closer", scene(obj(0, 204, 0), obj(1, 235, 0), c, margins=hard), 0, 1, 2) is True  # 15.2 %
    assert rel("closer", scene(obj(0, 235, 0), obj(1, 204, 0), c, margins=hard), 0, 1, 2) is False
    # near the anchor the flat margin still rules: 12 against 18 px is 50 % apart but only 6 px
    assert rel("closer", scene(obj(0, 12, 0), obj(1, 18, 0), c, margins=hard), 0, 1, 2) is None


def test_extreme_needs_a_clear_winner():
    s = scene(obj(0, 50, 100), obj(1, 60, 200), obj(2, 150, 150))
    assert DOMAIN_2D.extreme(s, "leftmost") == 0
    assert DOMAIN_2D.extreme(s, "rightmost") == 2
    assert DOMAIN_2D.extreme(scene(obj(0, 50, 100), obj(1, 55, 200)), "leftmost") is None


def test_occlusion_order_follows_drawing_and_the_pixels():
    """2D depth: the object drawn later covers the other; asked only for overlaps of at least
    occlusion_min_frac of the smaller area, between different colours. The rendered pixels agree: the
    middle of the overlap has the front object's colour."""
    from spatialgen.generator.render2d import render
    from spatialgen.scenes.flat.geometry import polygon

    m = M.model_copy(update={"occlusion_min_frac": 0.1})
    red = Obj(id=0, shape="square", color="red", size="medium", scale=40, x=100, y=100)
    blue = Obj(id=1, shape="circle", color="blue", size="medium", scale=40, x=125, y=110)
    for objs in ((red, blue), (blue, red)):
        s = Scene(220, 220, objs, m)
        front, back = objs[1], objs[0]
        assert RELATIONS["in_front_of"].holds(s, front, back) is True
        assert RELATIONS["behind"].holds(s, front, back) is False
        assert RELATIONS["behind"].holds(s, back, front) is True
        middle = polygon(red).intersection(polygon(blue)).representative_point()
        assert render(s).getpixel((round(middle.x), round(middle.y))) == front.rgb
    # A sliver of overlap (under 10 % of the smaller area), a gap, or one colour: never asked.
    sliver = Obj(id=1, shape="square", color="blue", size="medium", scale=40, x=137, y=100)
    apart = Obj(id=1, shape="square", color="blue", size="medium", scale=40, x=180, y=100)
    same = Obj(id=1, shape="circle", color="red", size="medium", scale=40, x=125, y=110)
    for other in (sliver, apart, same):
        assert RELATIONS["in_front_of"].holds(Scene(220, 220, (red, other), m), other, red) is None


def test_every_domain_pairs_each_relation_with_its_inverse():
    """Inverse wordings are derived from their relation (scenes/domain.py), in both domains: each binary
    family's pair names each other, shares its family, and every extreme names a relation of its domain."""
    from spatialgen.scenes.domains import kinds

    for kind, dom in kinds().items():
        for fam, (r, inv) in dom.binary.items():
            a, b = dom.relations[r], dom.relations[inv]
            assert (a.inverse, b.inverse) == (inv, r), (kind, fam)
            assert a.family == b.family == fam, (kind, fam)
        assert all(name in dom.relations for name in dom.extremes.values()), kind
