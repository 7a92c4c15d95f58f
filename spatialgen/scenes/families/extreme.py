"""Which object is furthest in a direction? Multiple choice among four named objects; the domain says
which directions exist (2D: leftmost ... bottommost; 3D: also frontmost, backmost) and finds the winner
(``domain.extreme_of``: clear of every other object by the relation's margin, or not asked)."""

from __future__ import annotations

from ..domains import domain_of
from ..programs import Program, Question
from .base import MAX_OPTIONS, Ctx, Family, finish, fresh, options

TEMPLATES: dict[str, tuple[str, ...]] = {
    "leftmost": ("Which object is the leftmost?", "Which object is furthest to the left?"),
    "rightmost": ("Which object is the rightmost?", "Which object is furthest to the right?"),
    "topmost": ("Which object is the topmost?", "Which object is highest in the image?"),
    "bottommost": ("Which object is the bottommost?", "Which object is lowest in the image?"),
    "frontmost": ("Which object is closest to the front?", "Which object is nearest the viewer?"),
    "backmost": ("Which object is farthest back?", "Which object is farthest from the viewer?"),
}


def build(ctx: Ctx, family: str, target: str) -> Question | None:
    """Which of four named objects is furthest in a direction the domain has."""
    dirs = list(ctx.dom.extremes)
    ctx.rng.shuffle(dirs)
    for d in dirs:
        winner = ctx.dom.extreme(ctx.scene, d)
        if winner is None or winner not in ctx.refs:
            continue
        choices = options(ctx, str(winner), [str(i) for i in ctx.refs])
        if len(choices) < MAX_OPTIONS:
            return None  # too few nameable objects; letters stay uniform only with full option sets
        p = Program("extreme", d, (), choices=choices, answer=str(winner))
        if fresh(ctx, p):
            return finish(ctx, TEMPLATES[d], p, "multiple_choice", {}, tuple(ctx.refs[int(c)] for c in choices))
    return None


def execute(p: Program, scene) -> str | None:
    """The winner's id, or None if no object leads by the margin."""
    winner = domain_of(scene).extreme(scene, p.relation)
    return None if winner is None else str(winner)


FAMILY = Family(("extreme",), TEMPLATES, build, execute, min_objects=4)
