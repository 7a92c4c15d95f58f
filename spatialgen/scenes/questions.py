"""From a scene graph to balanced questions, each compiled to a program whose execution is its answer.

Balancing is by construction, not by rejection: a yes/no slot first draws its target answer (yes and
no alternate within a scene, from a random start), then picks the wording (left vs right, near vs far)
that makes the chosen pair answer it. Multiple-choice options put the right answer at a uniformly drawn
letter. Family slots are drawn with the configured weights; a family that cannot be asked about in a
scene hands its slot to another. What each family asks, and how, is its own module (scenes/families/).
"""

from __future__ import annotations

from . import families
from .config import active_families
from .domains import domain_of
from .families import relation
from .families.base import Ctx, fresh
from .programs import Question
from .referring import refer
from .rng import Rng

__all__ = ["Question", "make_questions", "probe_question"]


def make_questions(scene, cfg, rng: Rng, probe: Question | None = None) -> list[Question]:
    """``cfg.questions_per_scene`` questions (fewer if the scene cannot support them), probe first."""
    refs = {o.id: r for o in scene.objects if (r := refer(scene, o)) is not None}
    ctx = Ctx(scene, cfg, rng, refs, domain_of(scene))
    active = active_families(cfg)
    fams, weights = list(active), list(active.values())
    out: list[Question] = []
    yes_next = rng.coin()
    if probe is not None:
        fresh(ctx, probe.program)
        out.append(probe)
        yes_next = probe.answer != "yes"
    while len(out) < cfg.questions_per_scene:
        first = rng.weighted(fams, weights)
        order = [first, *rng.shuffle([f for f in fams if f != first])]
        target = "yes" if yes_next else "no"
        q = next((q for f in order if (q := families.build(ctx, f, target)) is not None), None)
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
    q = relation.build(Ctx(scene, cfg, rng, refs, domain_of(scene)), family, target)
    if q is None:
        return None
    return Question(q.qid, q.text, q.answer, q.answer_type, q.options, q.program, True, q.candidates)
