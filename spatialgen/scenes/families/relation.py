"""Yes/no questions about one relation between named objects ("Is the red circle left of the blue
square?"): every family a domain lists in ``binary`` (a relation and its inverse wording: left_right,
above_below, near_far, size, closer; 3D front_behind, camera_distance) or in ``searched`` (a relation with
no inverse wording, so pairs are searched for the wanted answer: overlap, occlusion, on_top). The geometry
is the domain's (scenes/flat/relations.py, scenes/world/relations.py); this module words and balances it."""

from __future__ import annotations

from ..domains import domain_of
from ..programs import Program, Question
from .base import Ctx, Family, finish, fresh

TEMPLATES: dict[str, tuple[str, ...]] = {
    "left_of": (
        "Is {a} to the left of {b}?",
        "Is {a} left of {b}?",
        "Is {a} on the left side of {b}?",
        "Does {a} appear to the left of {b}?",
    ),
    "right_of": (
        "Is {a} to the right of {b}?",
        "Is {a} right of {b}?",
        "Is {a} on the right side of {b}?",
        "Does {a} appear to the right of {b}?",
    ),
    "above": (
        "Is {a} above {b}?",
        "Is {a} higher in the image than {b}?",
        "Is {a} located above {b}?",
        "Does {a} appear above {b}?",
    ),
    "below": (
        "Is {a} below {b}?",
        "Is {a} lower in the image than {b}?",
        "Is {a} located below {b}?",
        "Does {a} appear below {b}?",
    ),
    "near": ("Is {a} near {b}?", "Is {a} close to {b}?", "Are {a} and {b} close together?"),
    "far": ("Is {a} far from {b}?", "Is {a} far away from {b}?", "Are {a} and {b} far apart?"),
    "bigger": ("Is {a} bigger than {b}?", "Is {a} larger than {b}?", "Does {a} cover more area than {b}?"),
    "smaller": ("Is {a} smaller than {b}?", "Is {a} less large than {b}?", "Does {a} cover less area than {b}?"),
    "overlaps": ("Do {a} and {b} overlap?", "Does {a} overlap {b}?", "Are {a} and {b} overlapping?"),
    "closer": ("Is {a} closer to {c} than {b} is?", "Is {a} nearer to {c} than {b} is?"),
    "farther": ("Is {a} farther from {c} than {b} is?", "Is {a} further away from {c} than {b} is?"),
    "in_front_of": ("Is {a} in front of {b}?", "Is {a} nearer the viewer than {b}?"),
    "behind": ("Is {a} behind {b}?", "Is {a} farther back than {b}?"),
    "on_top_of": ("Is {a} on top of {b}?", "Is {a} resting on {b}?"),
    "closer_to_camera": ("Is {a} closer to the camera than {b}?",),
    "farther_from_camera": ("Is {a} farther from the camera than {b}?",),
}


# Objects a relation family's question names, where not two ("Is A closer to C than B is?").
ARITY = {"closer": 3}


def _binary(ctx: Ctx, family: str, target: str) -> Question | None:
    s, rng = ctx.scene, ctx.rng
    ids = list(ctx.refs)
    arity = ARITY.get(family, 2)
    if len(ids) < arity:
        return None
    # Random argument tuples rather than a shuffle of every permutation: this runs for most questions.
    total = 1
    for k in range(arity):
        total *= len(ids) - k
    for _ in range(min(60, 3 * total)):
        args = tuple(rng.sample(ids, arity))
        rel = rng.choice(ctx.dom.binary[family])
        v = ctx.dom.relations[rel].holds(s, *(s.by_id[i] for i in args))
        if v is None:
            continue
        if ("yes" if v else "no") != target:
            rel = ctx.dom.relations[rel].inverse
        p = Program(family, rel, args, answer=target)
        if fresh(ctx, p):
            fmt = dict(zip("abc", (ctx.refs[i] for i in args), strict=False))
            return finish(ctx, TEMPLATES[rel], p, "yes_no", fmt)
    return None


def _searched(ctx: Ctx, family: str, target: str) -> Question | None:
    ids = list(ctx.refs)
    pairs = [(a, b) for k, a in enumerate(ids) for b in ids[k + 1 :]]
    ctx.rng.shuffle(pairs)
    for a, b in pairs:
        if ctx.rng.coin():
            a, b = b, a
        p = Program(family, ctx.dom.searched[family], (a, b), answer=target)
        if execute(p, ctx.scene) == target and fresh(ctx, p):
            return finish(ctx, TEMPLATES[p.relation], p, "yes_no", {"a": ctx.refs[a], "b": ctx.refs[b]})
    return None


def build(ctx: Ctx, family: str, target: str) -> Question | None:
    """A yes/no question of a relation family, answering ``target``."""
    return (_binary if family in ctx.dom.binary else _searched)(ctx, family, target)


def execute(p: Program, scene) -> str | None:
    """yes/no from the domain's relation; None inside its margin."""
    s = scene
    v = domain_of(s).relations[p.relation].holds(s, *(s.by_id[i] for i in p.objects))
    return None if v is None else ("yes" if v else "no")


# ``names`` is empty: the relation families are the ones each domain lists (Domain.binary / searched).
FAMILY = Family((), TEMPLATES, build, execute)
