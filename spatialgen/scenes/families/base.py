"""What every question family shares: the draw's context, the one-question-per-program rule, answer
domains and option sets, and the step that words a program into a Question."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..domain import Domain
from ..programs import LETTERS, Program, Question, display_answer
from ..rng import Rng

MAX_OPTIONS = 4
POOLS = {"color": "colors", "shape": "shapes", "material": "materials"}  # config field of each vocabulary


@dataclass
class Ctx:
    """One scene's question draw: the scene, its config, the random stream, the objects that can be named
    (id -> referring expression), the scene's domain, and the programs already asked."""

    scene: Any
    cfg: Any
    rng: Rng
    refs: dict[int, str]
    dom: Domain
    seen: set[tuple[Any, ...]] = field(default_factory=set)


@dataclass(frozen=True)
class Family:
    """A question family, declared in one module: its wording (templates keyed by relation or query), how a
    question is drawn from a scene (``build(ctx, family, target)``: ``target`` is the yes/no answer a
    balanced draw wants next), how a stored program is answered again (``execute(program, scene)``, None
    where ambiguous), the fewest objects a scene needs before the family can be asked, and the names
    that only a flat scene can ask."""

    names: tuple[str, ...]
    templates: dict[str, tuple[str, ...]]
    build: Callable[[Ctx, str, str], Question | None]
    execute: Callable[[Program, Any], str | None]
    min_objects: int = 2
    flat_only: tuple[str, ...] = ()  # names asked of flat (2D) scenes only


def fresh(ctx: Ctx, p: Program) -> bool:
    """True the first time a program is asked about this scene (a scene never asks the same thing twice)."""
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
    return tuple(getattr(cfg, POOLS[program.relation]))


def finish(
    ctx: Ctx,
    templates: tuple[str, ...],
    p: Program,
    answer_type: str,
    fmt: dict[str, str],
    options: tuple[str, ...] = (),
) -> Question:
    """Word a program with one of its family's templates (a random paraphrase) into a Question."""
    text = ctx.rng.choice(templates).format(**fmt)
    domain = answer_domain(ctx.cfg, answer_type, p, len(options))
    return Question("", text, display_answer(p, p.answer), answer_type, options, p, False, domain)


def options(ctx: Ctx, right: str, pool: list[str]) -> tuple[str, ...]:
    """Up to MAX_OPTIONS choices with the right one at a uniformly drawn position."""
    others = ctx.rng.sample([v for v in pool if v != right], MAX_OPTIONS - 1)
    pos = ctx.rng.below(len(others) + 1)
    return tuple([*others[:pos], right, *others[pos:]])
