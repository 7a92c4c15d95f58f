"""The perceptual rules (``margins.strict``): each rejects the kind of pair a person would call a tie, as
measured on the presets with the rules off (README, "Perceptual rules"), and ``strict: false`` keeps the
centre-and-edge margins reachable. Scenes are built by hand so each case is exact."""

from __future__ import annotations

from spatialgen.scenes.config import load_preset
from spatialgen.scenes.families import execute
from spatialgen.scenes.flat.config import Margins
from spatialgen.scenes.flat.example import make_example
from spatialgen.scenes.flat.relations import RELATIONS
from spatialgen.scenes.flat.scene import Obj, Scene
from spatialgen.scenes.programs import Program

# The expert preset's margins (margin_px 4), rules on and off.
STRICT = Margins(margin_px=4, near_px=70, far_px=110, size_ratio=1.25)
LOOSE = STRICT.model_copy(update={"strict": False})


def obj(i, x, y, scale=20.0, shape="square", color="red", size="medium", rotation=0.0):
    return Obj(id=i, shape=shape, color=color, size=size, scale=scale, x=x, y=y, rotation=rotation)


def holds(name, margins, objs, *ids):
    s = Scene(300, 300, tuple(objs), margins)
    return RELATIONS[name].holds(s, *(s.by_id[i] for i in ids))


def test_extents_sharing_more_than_half_are_a_tie():
    # Measured with the rules off at `expert`: a pair 5.4 px apart vertically, side by side, was asked
    # "below" although their vertical extents share 73 % of the narrower one's.
    a, b = obj(0, 100, 100), obj(1, 140, 105.4)
    assert holds("below", LOOSE, (a, b), 1, 0) is True
    assert holds("below", STRICT, (a, b), 1, 0) is None
    # Sharing less than half (12 px apart on 20 px extents: 8 px shared) is still asked, both ways.
    c = obj(1, 140, 112)
    assert holds("below", STRICT, (a, c), 1, 0) is True and holds("above", STRICT, (a, c), 1, 0) is False
    # The threshold is a knob.
    loose_axis = STRICT.model_copy(update={"axis_overlap_max": 0.8})
    assert holds("below", loose_axis, (a, b), 1, 0) is True


def test_relations_are_judged_on_the_visible_part():
    # A (a 30 px square at x 100) is covered on its left third by B, drawn after it: what is seen of A spans
    # x 95..115, centred at 105. C sits 13 px right of A's stored centre, past a 12 px margin, but only 8 px
    # right of what is seen of A: a tie.
    a = obj(0, 100, 150, scale=30, color="red")
    c = obj(1, 113, 220, scale=10, color="green", shape="circle")
    b = obj(2, 80, 150, scale=30, color="blue")
    objs = (a, c, b)
    loose = Margins(margin_px=12, near_px=70, far_px=110, size_ratio=1.25, strict=False)
    strict = loose.model_copy(update={"strict": True, "axis_overlap_max": 1.0})
    assert holds("left_of", loose, objs, 0, 1) is True
    seen = Scene(300, 300, objs, strict).visible[0]
    assert (seen.x, seen.bbox[0], seen.area) == (105.0, 95.0, 600.0)
    assert holds("left_of", strict, objs, 0, 1) is None
    assert holds("left_of", strict.model_copy(update={"visible_geometry": False}), objs, 0, 1) is True


def test_same_colour_objects_that_touch_are_not_counted():
    # Two red squares touching fuse into one red blob: "how many red squares?" has no answer a person can give.
    fused = (obj(0, 100, 100), obj(1, 120, 100), obj(2, 200, 200, color="blue"))
    for family in ("count", "exist"):
        p = Program(family, family, color="red", shape="square")
        assert execute(p, Scene(300, 300, fused, STRICT)) is None
        assert execute(p, Scene(300, 300, fused, LOOSE)) in ("2", "yes")
    # A different colour touching is fine, and so is the blue square counted alone.
    apart = (obj(0, 100, 100), obj(1, 120, 100, color="blue"))
    assert execute(Program("count", "count", color="red"), Scene(300, 300, apart, STRICT)) == "1"
    assert execute(Program("count", "count", color="blue"), Scene(300, 300, fused, STRICT)) == "1"
    off = STRICT.model_copy(update={"separable_counts": False})
    assert execute(Program("count", "count", color="red"), Scene(300, 300, fused, off)) == "2"


def test_no_shape_turns_into_another():
    # With the rules off, `expert` (rotation_deg 30) turned about half of its squares and diamonds past 15
    # degrees, where a square starts to read as a diamond; with them on, none.
    cfg = load_preset("expert").config
    loose = cfg.model_copy(update={"margins": cfg.margins.model_copy(update={"strict": False})})
    turned = {True: 0, False: 0}
    for strict, c in ((True, cfg), (False, loose)):
        for i in range(150):
            for o in make_example(c, 0, i).original.scene.objects:
                if o.shape in ("square", "diamond"):
                    turned[strict] = max(turned[strict], abs(o.rotation))
                elif o.shape != "circle":
                    assert abs(o.rotation) <= 30
    assert turned[True] <= 15 < turned[False]


def test_strict_false_is_reachable_from_a_config_file(tmp_path):
    from spatialgen.scenes.config import resolve_config

    f = tmp_path / "loose.yaml"
    f.write_text("margins: {strict: false}\n")
    cfg = resolve_config("expert", f)
    assert cfg.margins.strict is False and cfg.margins.margin_px == 4


def test_rows_written_before_the_rules_are_re_derived_without_them():
    from spatialgen.generator.rows2d import scene_from_row

    ex = make_example(load_preset("medium").config, 0, 3)
    sc = ex.original.scene
    d = {k: v for k, v in sc.margins.model_dump().items() if k not in ("strict", "axis_overlap_max")}
    d["noise"] = 0.0
    row = {
        "width": sc.width,
        "height": sc.height,
        "difficulty": d,
        "objects": [
            dict(
                id=o.id,
                shape=o.shape,
                color=o.color,
                size=o.size,
                scale=o.scale,
                center=[o.x, o.y],
                rotation=o.rotation,
                outline=o.outline,
                texture=o.texture,
            )
            for o in sc.objects
        ],
        "render": {"background": list(sc.background), "clutter": [], "noise_seed": 0},
    }
    assert scene_from_row(row).margins.strict is False
