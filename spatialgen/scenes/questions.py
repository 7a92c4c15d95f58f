"""From a scene graph to balanced questions, each compiled to a program whose execution is its answer.

Balancing is by construction, not by rejection: a yes/no slot first draws its target answer (yes and
no alternate within a scene, from a random start), then picks the wording (left vs right, near vs far)
that makes the chosen pair answer it. Multiple-choice options put the right answer at a uniformly drawn
letter. Family slots are drawn with the configured weights; a family that cannot be asked about in a
scene hands its slot to another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import chains
from .config import active_families
from .domains import Domain, domain_of
from .programs import LETTERS, Program, display_answer, execute
from .referring import filter_phrase, refer, with_article
from .rng import Rng
from .templates import TEMPLATES

MAX_OPTIONS = 4
_POOLS = {"color": "colors", "shape": "shapes", "material": "materials"}  # config field of each vocabulary


@dataclass(frozen=True, slots=True)
class Question:
    qid: str
    text: str
    answer: str  # as shown: yes/no, an option letter, a word, a number
    answer_type: str
    options: tuple[str, ...]
    program: Program
    probe: bool = False  # the question a twin flips
    candidates: tuple[str, ...] = ()  # the answer domain a scorer chooses from; the answer is one of them

    def to_dict(self) -> dict[str, Any]:
        return {
            "qid": self.qid,
            "family": self.program.family,
            "text": self.text,
            "answer": self.answer,
            "answer_type": self.answer_type,
            "options": list(self.options),
            "probe": self.probe,
            "candidates": list(self.candidates),
            "program": self.program.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Question:
        return cls(
            d["qid"],
            d["text"],
            d["answer"],
            d["answer_type"],
            tuple(d["options"]),
            Program.from_dict(d["program"]),
            bool(d.get("probe", False)),
            tuple(d.get("candidates") or ()),
        )


@dataclass
class _Ctx:
    scene: Any
    cfg: Any
    rng: Rng
    refs: dict[int, str]
    dom: Domain
    seen: set[tuple[Any, ...]] = field(default_factory=set)


def _fresh(ctx: _Ctx, p: Program) -> bool:
    key = (p.family, p.relation, tuple(sorted(p.objects)), p.color, p.shape, p.steps)
    if key in ctx.seen:
        return False
    ctx.seen.add(key)
    return True


def answer_domain(cfg: Any, answer_type: str, program: Program, n_options: int) -> tuple[str, ...]:
    """Every answer the question could have under ``cfg``: stored with the question, so a scorer never has
    to guess it (a count can be anything from 0 to the config's most objects)."""
    if answer_type == "yes_no":
        return ("yes", "no")
    if answer_type == "multiple_choice":
        return tuple(LETTERS[:n_options])
    if answer_type == "number":
        return tuple(str(k) for k in range(cfg.objects[1] + 1))
    return tuple(getattr(cfg, _POOLS[program.relation]))


def _finish(ctx: _Ctx, p: Program, answer_type: str, fmt: dict[str, str], options: tuple[str, ...] = ()) -> Question:
    text = ctx.rng.choice(TEMPLATES[p.relation if p.family not in ("count", "exist") else p.family]).format(**fmt)
    domain = answer_domain(ctx.cfg, answer_type, p, len(options))
    return Question("", text, display_answer(p, p.answer), answer_type, options, p, False, domain)


def _binary(ctx: _Ctx, family: str, target: str) -> Question | None:
    s, rng = ctx.scene, ctx.rng
    ids = list(ctx.refs)
    arity = 3 if family == "closer" else 2
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
        if _fresh(ctx, p):
            return _finish(ctx, p, "yes_no", dict(zip("abc", (ctx.refs[i] for i in args), strict=False)))
    return None


def _searched(ctx: _Ctx, family: str, target: str) -> Question | None:
    """Yes/no families whose relation has no inverse wording (overlap, on top of): pairs are searched for
    one with the target answer."""
    ids = list(ctx.refs)
    pairs = [(a, b) for k, a in enumerate(ids) for b in ids[k + 1 :]]
    ctx.rng.shuffle(pairs)
    for a, b in pairs:
        if ctx.rng.coin():
            a, b = b, a
        p = Program(family, ctx.dom.searched[family], (a, b), answer=target)
        if execute(p, ctx.scene) == target and _fresh(ctx, p):
            return _finish(ctx, p, "yes_no", {"a": ctx.refs[a], "b": ctx.refs[b]})
    return None


def _options(ctx: _Ctx, right: str, pool: list[str]) -> tuple[str, ...]:
    """Up to MAX_OPTIONS choices with the right one at a uniformly drawn position."""
    others = ctx.rng.sample([v for v in pool if v != right], MAX_OPTIONS - 1)
    pos = ctx.rng.below(len(others) + 1)
    return tuple([*others[:pos], right, *others[pos:]])


def _extreme(ctx: _Ctx) -> Question | None:
    dirs = list(ctx.dom.extremes)
    ctx.rng.shuffle(dirs)
    for d in dirs:
        winner = ctx.dom.extreme(ctx.scene, d)
        if winner is None or winner not in ctx.refs:
            continue
        choices = _options(ctx, str(winner), [str(i) for i in ctx.refs])
        if len(choices) < MAX_OPTIONS:
            return None  # too few nameable objects; letters stay uniform only with full option sets
        p = Program("extreme", d, (), choices=choices, answer=str(winner))
        if _fresh(ctx, p):
            return _finish(ctx, p, "multiple_choice", {}, tuple(ctx.refs[int(c)] for c in choices))
    return None


def _filter(ctx: _Ctx, present: bool) -> tuple[str | None, str | None]:
    rng, objs = ctx.rng, ctx.scene.objects
    kind = rng.below(3)  # 0: color, 1: shape, 2: both
    if present:
        o = rng.choice(objs)
        color, shape = o.color, o.shape
    else:
        color, shape = rng.choice(ctx.cfg.colors), rng.choice(ctx.cfg.shapes)
    return (color if kind != 1 else None, shape if kind != 0 else None)


def _count(ctx: _Ctx) -> Question | None:
    for _ in range(8):
        color, shape = _filter(ctx, present=ctx.rng.coin(0.8))
        answer = execute(Program("count", "count", color=color, shape=shape), ctx.scene)
        if answer is None:
            continue
        p = Program("count", "count", color=color, shape=shape, answer=answer)
        if _fresh(ctx, p):
            return _finish(ctx, p, "number", {"f": filter_phrase(color, shape, True)})
    return None


def _exist(ctx: _Ctx, target: str) -> Question | None:
    for _ in range(12):
        color, shape = _filter(ctx, present=target == "yes")
        p = Program("exist", "exist", color=color, shape=shape, answer=target)
        if execute(p, ctx.scene) == target and _fresh(ctx, p):
            return _finish(
                ctx,
                p,
                "yes_no",
                {"f": filter_phrase(color, shape, True), "f1": with_article(filter_phrase(color, shape, False))},
            )
    return None


def _attribute(ctx: _Ctx) -> Question | None:
    s, rng = ctx.scene, ctx.rng
    attr = rng.choice(tuple(ctx.dom.queries))
    objs = list(s.objects)
    rng.shuffle(objs)
    for o in objs:
        ref = refer(s, o, without=attr)
        if ref is None:
            continue
        right = getattr(o, attr)
        pool = list(getattr(ctx.cfg, _POOLS[attr]))
        if rng.coin() and len(pool) >= MAX_OPTIONS:
            choices = _options(ctx, right, pool)
            p = Program("attribute", attr, (o.id,), choices=choices, answer=right)
            if _fresh(ctx, p):
                return _finish(ctx, p, "multiple_choice", {"a": ref}, choices)
        else:
            p = Program("attribute", attr, (o.id,), answer=right)
            if _fresh(ctx, p):
                return _finish(ctx, p, "word", {"a": ref})
    return None


def _chain(ctx: _Ctx, family: str, target: str) -> Question | None:
    made = chains.build(ctx, family, target, ctx.cfg.hops)
    if made is None or not _fresh(ctx, made[0]):
        return None
    p, text, answer_type = made
    return Question("", text, p.answer, answer_type, (), p, False, answer_domain(ctx.cfg, answer_type, p, 0))


def build(ctx: _Ctx, family: str, target: str) -> Question | None:
    if family in chains.FAMILIES:
        return _chain(ctx, family, target)
    if family in ctx.dom.binary:
        return _binary(ctx, family, target)
    if family in ctx.dom.searched:
        return _searched(ctx, family, target)
    if family == "exist":
        return _exist(ctx, target)
    return {"extreme": _extreme, "count": _count, "attribute": _attribute}[family](ctx)


def make_questions(scene, cfg, rng: Rng, probe: Question | None = None) -> list[Question]:
    """``cfg.questions_per_scene`` questions (fewer if the scene cannot support them), probe first."""
    refs = {o.id: r for o in scene.objects if (r := refer(scene, o)) is not None}
    ctx = _Ctx(scene, cfg, rng, refs, domain_of(scene))
    active = active_families(cfg)
    fams, weights = list(active), list(active.values())
    out: list[Question] = []
    yes_next = rng.coin()
    if probe is not None:
        _fresh(ctx, probe.program)
        out.append(probe)
        yes_next = probe.answer != "yes"
    while len(out) < cfg.questions_per_scene:
        first = rng.weighted(fams, weights)
        order = [first, *rng.shuffle([f for f in fams if f != first])]
        target = "yes" if yes_next else "no"
        q = next((q for f in order if (q := build(ctx, f, target)) is not None), None)
        if q is None:
            break
        if q.answer_type == "yes_no":
            yes_next = not yes_next
        out.append(q)
    return [
        Question(f"q{k}", q.text, q.answer, q.answer_type, q.options, q.program, q.probe, q.candidates)
        for k, q in enumerate(out)
    ]


def probe_question(scene, cfg, rng: Rng, family: str, target: str) -> Question | None:
    """A yes/no question of a twin-probing family; the twin module then checks the swap flips it."""
    refs = {o.id: r for o in scene.objects if (r := refer(scene, o)) is not None}
    q = _binary(_Ctx(scene, cfg, rng, refs, domain_of(scene)), family, target)
    if q is None:
        return None
    return Question(q.qid, q.text, q.answer, q.answer_type, q.options, q.program, True, q.candidates)
