"""Prompt text for an Example under a condition: the question, its options, and how to answer.

Two styles. ``default``: the question, options as "A. x" lines and an answer instruction ("Answer with yes
or no."), inside the model's chat template. ``paper``: what the paper's evaluation sends inside LLaVA v1's
conversation: the raw question, options as "(A) x" lines, and for CV-Bench its own ``prompt`` field plus the
paper's answer instruction.
"""

from __future__ import annotations

from .example import Example

INSTRUCTIONS = {
    "yes_no": "Answer with yes or no.",
    "true_false": "Answer with true or false.",
    "multiple_choice": "Answer with the option's letter.",
    "number": "Answer with a number.",
    "word": "Answer with one word.",
    "open": "Answer the question using a single word or phrase.",  # LLaVA-1.5's short-answer instruction
}


def question_text(ex: Example, with_context: bool, style: str = "default") -> str:
    """The question as the model reads it: options and the answer instruction added, the scene description first when
    asked for."""
    parts = []
    if with_context and ex.context:
        parts.append(f"Scene: {ex.context}" if ex.images else ex.context)
    if style == "paper":
        if ex.paper_prompt:
            parts.append(ex.paper_prompt)
        else:
            parts.append(ex.question)
            parts += [f"({letter}) {opt}" for letter, opt in zip(ex.candidates, ex.options, strict=False)]
        return "\n".join(p for p in parts if p)
    parts.append(ex.question)
    for letter, opt in zip(ex.candidates, ex.options, strict=False):
        parts.append(f"{letter}. {opt}")
    parts.append(INSTRUCTIONS.get(ex.answer_type, ""))
    return "\n".join(p for p in parts if p)
