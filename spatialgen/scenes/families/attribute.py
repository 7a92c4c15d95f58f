"""What color / shape / material is the named object? A word answer, or multiple choice from four of
the config's vocabulary; the object is named without the attribute asked about."""

from __future__ import annotations

from ..programs import Program, Question
from ..referring import refer
from .base import MAX_OPTIONS, POOLS, Ctx, Family, finish, fresh, options

TEMPLATES: dict[str, tuple[str, ...]] = {
    "color": ("What color is {a}?", "Which color does {a} have?"),
    "shape": ("What shape is {a}?", "What is the shape of {a}?"),
    "material": ("What material is {a} made of?", "What is {a} made of?"),
}


def build(ctx: Ctx, family: str, target: str) -> Question | None:
    """What color / shape / material is a named object (word or multiple choice)."""
    s, rng = ctx.scene, ctx.rng
    attr = rng.choice(tuple(ctx.dom.queries))
    objs = list(s.objects)
    rng.shuffle(objs)
    for o in objs:
        ref = refer(s, o, without=attr)
        if ref is None:
            continue
        right = getattr(o, attr)
        pool = list(getattr(ctx.cfg, POOLS[attr]))
        if rng.coin() and len(pool) >= MAX_OPTIONS:
            choices = options(ctx, right, pool)
            p = Program("attribute", attr, (o.id,), choices=choices, answer=right)
            if fresh(ctx, p):
                return finish(ctx, TEMPLATES[attr], p, "multiple_choice", {"a": ref}, choices)
        else:
            p = Program("attribute", attr, (o.id,), answer=right)
            if fresh(ctx, p):
                return finish(ctx, TEMPLATES[attr], p, "word", {"a": ref})
    return None


def execute(p: Program, scene) -> str | None:
    """The named object's attribute."""
    return getattr(scene.by_id[p.objects[0]], p.relation)


FAMILY = Family(("attribute",), TEMPLATES, build, execute, min_objects=1)
