"""How many / is there: questions about the objects that match a filter (a color, a shape, or both).
A set is asked about only if its objects can be told apart (2D: same-colored objects in contact fuse
into one blob, ``Domain.countable``)."""

from __future__ import annotations

from ..domains import domain_of
from ..programs import Program, Question
from ..referring import filter_phrase, matches, with_article
from .base import Ctx, Family, finish, fresh

TEMPLATES: dict[str, tuple[str, ...]] = {
    "count": ("How many {f} are there?", "How many {f} are in the image?", "What is the number of {f}?"),
    "exist": ("Is there {f1}?", "Are there any {f}?", "Does the image contain {f1}?"),
}


def _filter(ctx: Ctx, present: bool) -> tuple[str | None, str | None]:
    rng, objs = ctx.rng, ctx.scene.objects
    kind = rng.below(3)  # 0: color, 1: shape, 2: both
    if present:
        o = rng.choice(objs)
        color, shape = o.color, o.shape
    else:
        color, shape = rng.choice(ctx.cfg.colors), rng.choice(ctx.cfg.shapes)
    return (color if kind != 1 else None, shape if kind != 0 else None)


def _count(ctx: Ctx) -> Question | None:
    for _ in range(8):
        color, shape = _filter(ctx, present=ctx.rng.coin(0.8))
        answer = execute(Program("count", "count", color=color, shape=shape), ctx.scene)
        if answer is None:
            continue
        p = Program("count", "count", color=color, shape=shape, answer=answer)
        if fresh(ctx, p):
            return finish(ctx, TEMPLATES["count"], p, "number", {"f": filter_phrase(color, shape, True)})
    return None


def _exist(ctx: Ctx, target: str) -> Question | None:
    for _ in range(12):
        color, shape = _filter(ctx, present=target == "yes")
        p = Program("exist", "exist", color=color, shape=shape, answer=target)
        if execute(p, ctx.scene) == target and fresh(ctx, p):
            fmt = {"f": filter_phrase(color, shape, True), "f1": with_article(filter_phrase(color, shape, False))}
            return finish(ctx, TEMPLATES["exist"], p, "yes_no", fmt)
    return None


def build(ctx: Ctx, family: str, target: str) -> Question | None:
    """A count or existence question by a color/shape filter."""
    return _count(ctx) if family == "count" else _exist(ctx, target)


def execute(p: Program, scene) -> str | None:
    """The count, or yes/no; None if the matches cannot be told apart."""
    hits = [o for o in scene.objects if matches(o, p.color, p.shape)]
    if not domain_of(scene).countable(scene, hits):
        return None  # counted objects fused with a same-colour neighbour: no one can count them
    if p.family == "count":
        return str(len(hits))
    return "yes" if hits else "no"


FAMILY = Family(("count", "exist"), TEMPLATES, build, execute, min_objects=1)
