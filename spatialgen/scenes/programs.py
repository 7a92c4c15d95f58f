"""Question programs (CLEVR-style): the structured form of every question, and their executor.

A program names its family, the relation or query, the object ids it refers to, any attribute filter,
and for multiple choice the candidate values. ``execute`` re-derives the answer from a scene graph
alone; a stored question's answer is by construction ``execute(program, scene)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .domains import domain_of
from .referring import matches

LETTERS = "ABCDEFGH"


@dataclass(frozen=True, slots=True)
class Program:
    family: str
    relation: str  # a RELATIONS name, an extreme direction, "count", "exist", "color" or "shape"
    objects: tuple[int, ...] = ()
    color: str | None = None  # filter (count, exist)
    shape: str | None = None
    choices: tuple[str, ...] = ()  # canonical values of multiple-choice options, in display order
    answer: str = ""  # canonical answer: yes/no, an object id, a number, a word
    # Compositional questions (scenes/chains.py): CLEVR's step list, (function, value) pairs; empty otherwise.
    steps: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        # Written out by hand: dataclasses.asdict deep-copies, and this runs for every question.
        return {
            "family": self.family,
            "relation": self.relation,
            "objects": list(self.objects),
            "color": self.color,
            "shape": self.shape,
            "choices": list(self.choices),
            "answer": self.answer,
            "steps": [{"function": f, "value": v} for f, v in self.steps],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Program:
        steps = tuple((s["function"], s["value"]) for s in d.get("steps") or ())  # absent before 0.3
        return cls(**{**d, "objects": tuple(d["objects"]), "choices": tuple(d["choices"]), "steps": steps})


def execute(p: Program, scene) -> str | None:
    """The canonical answer on ``scene``, or None if the question is ambiguous there (inside a margin,
    or a multiple-choice answer that is not among the choices)."""
    objs, dom = scene.by_id, domain_of(scene)
    if p.steps:
        from .chains import run

        out = run(p.steps, scene)
    elif p.relation in dom.relations:
        v = dom.relations[p.relation].holds(scene, *(objs[i] for i in p.objects))
        out = None if v is None else ("yes" if v else "no")
    elif p.family == "extreme":
        winner = dom.extreme(scene, p.relation)
        out = None if winner is None else str(winner)
    elif p.family in ("count", "exist"):
        hits = [o for o in scene.objects if matches(o, p.color, p.shape)]
        if not dom.countable(scene, hits):
            out = None  # counted objects fused with a same-colour neighbour: no one can count them
        elif p.family == "count":
            out = str(len(hits))
        else:
            out = "yes" if hits else "no"
    elif p.family == "attribute":
        out = getattr(objs[p.objects[0]], p.relation)
    else:
        raise ValueError(f"unknown program family {p.family!r}")
    if out is not None and p.choices and out not in p.choices:
        return None
    return out


def display_answer(p: Program, canonical: str) -> str:
    """What the question shows as its answer: the option letter for multiple choice."""
    return LETTERS[p.choices.index(canonical)] if p.choices else canonical
