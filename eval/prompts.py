"""Prompt text for an Example under a condition: the question, its options, and how to answer."""

from __future__ import annotations

from .example import Example

INSTRUCTIONS = {
    "yes_no": "Answer with yes or no.",
    "true_false": "Answer with true or false.",
    "multiple_choice": "Answer with the option's letter.",
    "number": "Answer with a number.",
    "word": "Answer with one word.",
}


def question_text(ex: Example, with_context: bool) -> str:
    parts = []
    if with_context and ex.context:
        parts.append(f"Scene: {ex.context}" if ex.images else ex.context)
    parts.append(ex.question)
    for letter, opt in zip(ex.candidates, ex.options, strict=False):
        parts.append(f"{letter}. {opt}")
    parts.append(INSTRUCTIONS.get(ex.answer_type, ""))
    return "\n".join(p for p in parts if p)
