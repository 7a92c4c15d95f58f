"""Question programs (CLEVR-style): the structured form of every question, and the question it is worded as.

A program names its family, the relation or query, the object ids it refers to, any attribute filter,
and for multiple choice the candidate values. ``families.execute`` re-derives the answer from a scene
graph alone; a stored question's answer is by construction ``execute(program, scene)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    # Compositional questions (scenes/families/compositional.py): CLEVR's step list of (function, value)
    # pairs; empty otherwise.
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


def display_answer(p: Program, canonical: str) -> str:
    """What the question shows as its answer: the option letter for multiple choice."""
    return LETTERS[p.choices.index(canonical)] if p.choices else canonical


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
