"""Compositional questions, in CLEVR's program form: a list of steps (filter, unique, relate, between, then
count, exist, a query or a comparison of counts), executed through a table of handlers over a stack (each
step pops its inputs and pushes its output, so two branches, as in "more circles than squares", are two
runs of steps followed by ``greater``).

"How many squares are to the left of the red circle?" is
``scene, filter_color red, filter_shape circle, unique, relate left_of, filter_shape square, count``;
``hops`` (a config knob) is the number of ``relate`` steps in a chain: at 2, "... to the left of the object
above the red circle?". Every step carries its relation's margin: a chain is asked only if every object is
clearly in or out of every relate set (one object inside a margin makes the whole question ambiguous), and
every intermediate object is picked out uniquely. Degenerate questions are not asked (CLEVR's rules): a
query whose filter alone already names one object in the scene (the relation would be idle), a count or
an existence answer that follows from the filter alone (the relation changes nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..domain import Domain
from ..domains import domain_of
from ..programs import Program, Question
from ..referring import filter_phrase, orders, with_article
from .base import Ctx, Family, answer_domain, fresh

FAMILIES = (
    "relate_count",
    "relate_exist",
    "relate_query",
    "relate_compare",
    "between_exist",
    "relate_and_or",
    "same_attribute",
)
MAX_HOPS = 4
# Attempts per question. A "yes" needs a non-empty related set with a match outside it, which random
# chains find less often than a "no": yes slots get more attempts, so each family stays near balanced.
TRIES = {"yes": 36, "no": 12}

# The words of each relation that a relate step can follow, as they read inside a noun phrase.
WORDS = {
    "left_of": "to the left of",
    "right_of": "to the right of",
    "above": "above",
    "below": "below",
    "near": "near",
    "in_front_of": "in front of",
    "behind": "behind",
}
ORDER = ("left_of", "right_of", "above", "below", "in_front_of", "behind", "near")


def relations(dom: Domain) -> tuple[str, ...]:
    """The domain's relations a chain can relate through (2D: left/right/above/below/near)."""
    fams = ("left_right", "above_below", "front_behind", "near_far")
    have = {r for f in fams if f in dom.binary for r in dom.binary[f] if r in WORDS}
    return tuple(r for r in ORDER if r in have)


def _relate(scene, anchor: int, rel: str) -> list[int] | None:
    """The objects that hold ``rel`` to the anchor; None if any object sits inside the relation's margin."""
    holds = domain_of(scene).relations[rel].holds
    a = scene.by_id[anchor]
    out = []
    for o in scene.objects:
        if o.id == anchor:
            continue
        v = holds(scene, o, a)
        if v is None:
            return None
        if v:
            out.append(o.id)
    return out


def _between(scene, a: int, b: int) -> list[int] | None:
    """The objects between A and B; None if the domain has no "between" or an object sits in its margin."""
    between = domain_of(scene).between
    if between is None or a == b:
        return None
    oa, ob = scene.by_id[a], scene.by_id[b]
    out = []
    for o in scene.objects:
        if o.id in (a, b):
            continue
        v = between(scene, o, oa, ob)
        if v is None:
            return None
        if v:
            out.append(o.id)
    return out


def _filter(attr: str) -> Callable[..., Any]:
    return lambda scene, value, ids: [i for i in ids if getattr(scene.by_id[i], attr) == value]


def _countable(scene, ids: list[int]) -> bool:
    return domain_of(scene).countable(scene, [scene.by_id[i] for i in ids])


# function -> (inputs it pops, handler(scene, value, *inputs) -> output, or None where ambiguous)
HANDLERS: dict[str, tuple[int, Callable[..., Any]]] = {
    "scene": (0, lambda scene, _: [o.id for o in scene.objects]),
    "filter_color": (1, _filter("color")),
    "filter_shape": (1, _filter("shape")),
    "filter_size": (1, _filter("size")),
    "filter_material": (1, _filter("material")),
    "unique": (1, lambda scene, _, ids: ids[0] if len(ids) == 1 else None),
    "relate": (1, lambda scene, rel, anchor: _relate(scene, anchor, rel)),
    "between": (2, lambda scene, _, a, b: _between(scene, a, b)),
    "count": (1, lambda scene, _, ids: str(len(ids)) if _countable(scene, ids) else None),
    "exist": (1, lambda scene, _, ids: ("yes" if ids else "no") if _countable(scene, ids) else None),
    "greater": (2, lambda scene, _, x, y: "yes" if int(x) > int(y) else "no"),
    "intersect": (2, lambda scene, _, x, y: [o.id for o in scene.objects if o.id in x and o.id in y]),
    "union": (2, lambda scene, _, x, y: [o.id for o in scene.objects if o.id in x or o.id in y]),
    "same_color": (2, lambda scene, _, i, j: "yes" if scene.by_id[i].color == scene.by_id[j].color else "no"),
    "same_shape": (2, lambda scene, _, i, j: "yes" if scene.by_id[i].shape == scene.by_id[j].shape else "no"),
    "query_color": (1, lambda scene, _, i: scene.by_id[i].color),
    "query_shape": (1, lambda scene, _, i: scene.by_id[i].shape),
    "query_material": (1, lambda scene, _, i: scene.by_id[i].material),
}


def run(steps: tuple[tuple[str, str], ...], scene) -> str | None:
    """Execute a step list on ``scene``: the answer, or None where any step is ambiguous."""
    stack: list[Any] = []
    for fn, value in steps:
        arity, handler = HANDLERS[fn]
        if len(stack) < arity:
            return None
        args = stack[len(stack) - arity :]
        del stack[len(stack) - arity :]
        out = handler(scene, value, *args)
        if out is None:
            return None
        stack.append(out)
    return stack[0] if len(stack) == 1 and isinstance(stack[0], str) else None


def _pick_filter(scene, target, among: list[int], attrs: tuple[tuple[str, ...], ...]):
    """The first attribute set (in ``attrs`` order) under which ``target`` is the only one ``among``."""
    for names in attrs:
        key = tuple(getattr(target, a) for a in names)
        if sum(1 for i in among if tuple(getattr(scene.by_id[i], a) for a in names) == key) == 1:
            return names
    return None


def _noun(o, names: tuple[str, ...], many: bool = False) -> str:
    return filter_phrase(o.color if "color" in names else None, o.shape if "shape" in names else None, many)


def _steps_for(o, names: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(f"filter_{a}", getattr(o, a)) for a in names]


def _named(ctx, i: int) -> list[tuple[str, str]] | None:
    """Steps that pick out object ``i`` as its referring expression does: scene, its filters, unique."""
    s = ctx.scene
    everyone = [o.id for o in s.objects]
    for names in orders(ctx.dom.attributes, None):
        if _pick_filter(s, s.by_id[i], everyone, (names,)) is not None:
            return [("scene", ""), *_steps_for(s.by_id[i], names), ("unique", "")]
    return None


Chain = tuple[list[tuple[str, str]], str, list[int], int, frozenset[int]]


def chain(ctx, hops: int) -> Chain | None:
    """Anchor + ``hops`` relate steps: (steps, the phrase after the noun, the final set, the anchor, every
    object the phrase names), or None. A chain never walks back: no relate set may hold an object the phrase
    already named, so each step reaches new objects and what the question asks about is never one of its own
    referents ("the object near the object near the cyan star" cannot lead back to the cyan star)."""
    s, rng, dom = ctx.scene, ctx.rng, ctx.dom
    rels = relations(dom)
    if not ctx.refs or not rels:
        return None
    anchor = rng.choice(sorted(ctx.refs))
    steps = _named(ctx, anchor)
    if steps is None:
        return None
    phrase, cur, named = ctx.refs[anchor], anchor, {anchor}
    for h in range(hops):
        rel = rng.choice(rels)
        members = _relate(s, cur, rel)
        if members is None or named.intersection(members):
            return None
        steps.append(("relate", rel))
        phrase = f"{WORDS[rel]} {phrase}"
        if h == hops - 1:
            return steps, phrase, members, anchor, frozenset(named)
        if not members:
            return None
        nxt = rng.choice(members)
        pick = _pick_filter(s, s.by_id[nxt], members, FILTERS)
        if pick is None:
            return None
        steps += [*_steps_for(s.by_id[nxt], pick), ("unique", "")]
        phrase = f"the {_noun(s.by_id[nxt], pick)} that is {phrase}"  # "that is": binds to this noun alone
        cur = nxt
        named.add(nxt)
    return None


FILTERS: tuple[tuple[str, ...], ...] = ((), ("shape",), ("color",), ("color", "shape"))


def _like(scene, o, names: tuple[str, ...], ids: list[int]) -> list[int]:
    """The ids among ``ids`` whose attributes ``names`` equal those of ``o`` (what its filter keeps)."""
    return [i for i in ids if all(getattr(scene.by_id[i], a) == getattr(o, a) for a in names)]


def _compare(ctx, target: str, hops: int):
    """ "Among the objects below the yellow hexagon, are there more circles than squares?": two counts over one
    related set."""
    s, rng = ctx.scene, ctx.rng
    made = chain(ctx, hops)
    if made is None:
        return None
    steps, phrase, members, anchor, _ = made
    attr = rng.choice(("shape", "color"))
    values = sorted({getattr(o, attr) for o in s.objects if o.id != anchor})
    if len(values) < 2:
        return None
    v1, v2 = rng.sample(values, 2)
    c1, c2 = (sum(getattr(s.by_id[i], attr) == v for i in members) for v in (v1, v2))
    if c1 == c2 == 0 or (target == "yes" and c1 == c2):
        return None  # nothing of either kind in the set: the question asks nothing
    if (c1 > c2) != (target == "yes"):
        v1, v2 = v2, v1

    def kind(v: str) -> str:
        return filter_phrase(None, v, True) if attr == "shape" else filter_phrase(v, None, True)

    branch = [(f"filter_{attr}", v1), ("count", ""), *steps, (f"filter_{attr}", v2), ("count", ""), ("greater", "")]
    text = f"Among the objects {phrase}, are there more {kind(v1)} than {kind(v2)}?"  # both counts in the set
    return [*steps, *branch], text, "yes_no", "greater", (anchor,)


def _between_exist(ctx, target: str):
    """ "Is there a triangle between the blue star and the cyan cross?" (domains that define between)."""
    s, rng = ctx.scene, ctx.rng
    if ctx.dom.between is None or len(ctx.refs) < 2 or len(s.objects) < 3:
        return None
    # Every named pair, in a random order, until one has objects between it: objects rarely lie between two
    # others, and a random pair would rarely allow a "yes". A "no" also asks about a pair with something
    # between it (just not what is asked for), so both answers need the same look at the image.
    ids = sorted(ctx.refs)
    pairs = rng.shuffle([(a, b) for a in ids for b in ids if a < b])
    found = None
    for a, b in pairs:
        members = _between(s, a, b)
        if members:
            found = (a, b, members)
            break
    if found is None:
        return None
    a, b, members = found
    if rng.coin():
        a, b = b, a
    named = (_named(ctx, a), _named(ctx, b))
    if None in named:
        return None
    others = [o.id for o in s.objects if o.id not in (a, b)]
    pool = members if target == "yes" else [i for i in others if i not in members]
    if not pool:
        return None
    o = s.by_id[rng.choice(pool)]
    pick = rng.choice(FILTERS)
    inside, anywhere = _like(s, o, pick, members), _like(s, o, pick, others)
    if len(inside) == len(anywhere) or bool(inside) != (target == "yes"):
        return None
    steps = [*named[0], *named[1], ("between", ""), *_steps_for(o, pick), ("exist", "")]
    text = f"Is there {with_article(_noun(o, pick))} between {ctx.refs[a]} and {ctx.refs[b]}?"
    return steps, text, "yes_no", "between", (a, b)


def _and_or(ctx, hops: int):
    """ "How many objects are both to the left of the red circle and above the blue square?": two related sets
    joined by intersect (and) or union (or), then counted."""
    rng = ctx.rng
    first, second = chain(ctx, hops), chain(ctx, hops)
    if first is None or second is None or first[3] == second[3]:
        return None
    (steps_a, phrase_a, set_a, a, named_a), (steps_b, phrase_b, set_b, b, named_b) = first, second
    op = rng.choice(("intersect", "union"))
    joined = [i for i in set_a if i in set_b] if op == "intersect" else sorted(set(set_a) | set(set_b))
    if sorted(joined) in (sorted(set_a), sorted(set_b)):
        return None  # one of the two conditions changes nothing: degenerate
    if named_a.intersection(set_b) or named_b.intersection(set_a):
        return None  # one phrase would reach an object the other names (and might count it)
    steps = [*steps_a, *steps_b, (op, ""), ("count", "")]
    # "both A and B" / "either A or B" (CLEVR's inclusive either): the conjunction joins the two phrases
    # and nothing inside them
    pair = f"both {phrase_a} and {phrase_b}" if op == "intersect" else f"either {phrase_a} or {phrase_b}"
    return steps, f"How many objects are {pair}?", "number", "count", (a, b)


def _same(ctx, target: str, hops: int):
    """ "Does the object to the left of the red circle have the same color as the blue square?" """
    s, rng = ctx.scene, ctx.rng
    made = chain(ctx, hops)
    if made is None:
        return None
    steps, phrase, members, anchor, named_in = made
    if not members:
        return None
    attr = rng.choice(("color", "shape"))
    m = s.by_id[rng.choice(members)]
    others = [o.id for o in s.objects if o.id != anchor]
    pick = _pick_filter(s, m, members, tuple(f for f in FILTERS if attr not in f))
    if pick is None or _pick_filter(s, m, others, (pick,)) is not None:
        return None  # nothing names it without the attribute, or the relation is idle
    fresh_refs = [i for i in sorted(ctx.refs) if i != m.id and i not in named_in]  # never one of its referents
    same = [i for i in fresh_refs if getattr(s.by_id[i], attr) == getattr(m, attr)]
    differ = [i for i in fresh_refs if i not in same]
    pool = same if target == "yes" else differ
    if not pool:
        return None
    b = rng.choice(pool)
    named = _named(ctx, b)
    if named is None:
        return None
    steps = [*steps, *_steps_for(m, pick), ("unique", ""), *named, (f"same_{attr}", "")]
    text = f"Does the {_noun(m, pick)} {phrase} have the same {attr} as {ctx.refs[b]}?"
    return steps, text, "yes_no", f"same_{attr}", (anchor, b)


def _tries(target: str, hops: int) -> int:
    """Attempts at a question: ``TRIES`` (12 where no answer is favoured), times the hops, as
    a long chain that never walks back to an object it names is rarer."""
    return TRIES.get(target, 12) * max(1, hops)


def draft(ctx: Ctx, family: str, target: str, hops: int) -> tuple[Program, str, str] | None:
    """A question of a chain family, as (program, text, answer_type), or None."""
    s, rng = ctx.scene, ctx.rng
    makers = {
        "relate_compare": lambda: _compare(ctx, target, hops),
        "between_exist": lambda: _between_exist(ctx, target),
        "relate_and_or": lambda: _and_or(ctx, hops),
        "same_attribute": lambda: _same(ctx, target, hops),
    }
    if family in makers:
        for _ in range(_tries(target, hops) if family in ("between_exist", "same_attribute") else _tries("", hops)):
            made = makers[family]()
            if made is None:
                continue
            steps, text, answer_type, relation, objects = made
            answer = run(tuple(steps), s)
            if answer is not None and (answer_type != "yes_no" or answer == target):
                return Program(family, relation, objects, answer=answer, steps=tuple(steps)), text, answer_type
        return None
    for _ in range(_tries(target, hops) if family == "relate_exist" else _tries("", hops)):
        made = chain(ctx, hops)
        if made is None:
            continue
        steps, phrase, members, anchor, _ = made
        others = [o for o in s.objects if o.id != anchor]
        if family == "relate_query":
            if not members:
                continue
            attr = rng.choice([q for q in ctx.dom.queries if q in ("color", "shape", "material")])
            m = s.by_id[rng.choice(members)]
            allowed = tuple(f for f in FILTERS if attr not in f)
            pick = _pick_filter(s, m, members, allowed)
            if pick is None or _pick_filter(s, m, [o.id for o in others], (pick,)) is not None:
                continue  # no filter names it, or the filter alone names it in the scene: the relation is idle
            steps = [*steps, *_steps_for(m, pick), ("unique", ""), (f"query_{attr}", "")]
            text = f"What {attr} is the {_noun(m, pick)} {phrase}?"
            answer_type, relation = "word", attr
        else:
            want_yes = target == "yes"
            if family == "relate_exist" and want_yes and not members:
                continue
            pool = members if (family == "relate_count" or want_yes) else [o.id for o in others if o.id not in members]
            if family == "relate_count" and not pool:
                pool = [o.id for o in others]
            if not pool:
                continue
            o = s.by_id[rng.choice(pool)]
            pick = rng.choice(FILTERS)
            inside, anywhere = _like(s, o, pick, members), _like(s, o, pick, [p.id for p in others])
            if len(inside) == len(anywhere):
                continue  # every match is in the set: the answer follows from the filter alone
            op = "count" if family == "relate_count" else "exist"
            steps = [*steps, *_steps_for(o, pick), (op, "")]
            if op == "count":
                text = f"How many {_noun(o, pick, many=True)} are {phrase}?"
                answer_type, relation = "number", "count"
            else:
                if bool(inside) != want_yes:
                    continue
                text = f"Is there {with_article(_noun(o, pick))} {phrase}?"
                answer_type, relation = "yes_no", "exist"
        answer = run(tuple(steps), s)
        if answer is None:
            continue
        p = Program(family, relation, (anchor,), answer=answer, steps=tuple(steps))
        return p, text, answer_type
    return None


def build(ctx: Ctx, family: str, target: str) -> Question | None:
    """A compositional question of ``family`` at the config's hops."""
    made = draft(ctx, family, target, ctx.cfg.hops)
    if made is None or not fresh(ctx, made[0]):
        return None
    p, text, answer_type = made
    return Question("", text, p.answer, answer_type, (), p, False, answer_domain(ctx.cfg, answer_type, p, 0))


def execute(p: Program, scene) -> str | None:
    """Run the stored steps (None where a step is ambiguous)."""
    return run(p.steps, scene)


# Each needs an anchor, the related objects and one outside; wording is built with the steps, no templates.
# "between" is defined for flat scenes only.
FAMILY = Family(FAMILIES, {}, build, execute, min_objects=3, flat_only=("between_exist",))
