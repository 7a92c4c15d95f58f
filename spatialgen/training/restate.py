"""Restated questions: every yes/no question of a family with an inverse wording ("Is A to the right of B?",
"Does A appear above B?") asked again in one wording, its relation's first template ("Is A to the left of B?",
answer flipped; "Is A above B?"), for a model trained from scratch.

The generator balances a yes/no family by wording (scenes/families/relation.py: a pair whose relation does not
give the wanted answer is asked with the inverse), so over a family the answer is the geometry's verdict XOR
whether the inverse wording was used: neither alone predicts it at all. A language model that starts from
random weights sits at that saddle, at the yes/no prior, however well it finds the named objects: with clean
image tokens from the scene graph, the questions as generated stay at 50 %, while those all put in one wording
per relation are learned (README "Training"). Beside the questions as generated, the restatements carry the
verdict straight to the answer in a wording that never changes, which teaches the comparison; the other
wordings, then the questions it gets wrong, teach their words. (Restating only the inverse-worded questions,
each in its own template's counterpart, did not move it from 50 % in the same budget.) Trained on, never
scored; the eval data is unchanged.
"""

from __future__ import annotations

import re
from functools import cache

from spatialgen.eval.example import Example
from spatialgen.scenes.domains import domains
from spatialgen.scenes.families import TEMPLATES

FLIP = {"yes": "no", "no": "yes"}


@cache
def inverses() -> dict[str, str]:
    """inverse wording -> the relation it inverts, over every domain's yes/no families with one."""
    out: dict[str, str] = {}
    for dom in domains():
        for rel, inv in dom.binary.values():
            if out.setdefault(inv, rel) != rel:
                raise ValueError(f"relation {inv} inverts both {out[inv]} and {rel}")  # a domain table's bug
    return out


@cache
def _pattern(template: str) -> re.Pattern[str]:
    """A template as a regex whose groups are its named objects ({a}, {b}, {c})."""
    parts = re.split(r"\{([abc])\}", template)
    return re.compile("".join(re.escape(p) if k % 2 == 0 else f"(?P<{p}>.+?)" for k, p in enumerate(parts)) + "$")


def restate(ex: Example) -> Example | None:
    """``ex`` in its relation's first template (the answer flipped if ``ex`` uses the inverse wording); None if
    it is not a yes/no question of a family with an inverse wording, or its text is no template of its relation
    (edited data: skipped, not guessed at)."""
    asked = ex.categories.get("relation", "")
    rel = inverses().get(asked, asked)
    if rel not in inverses().values() or ex.answer_type != "yes_no" or ex.answer not in FLIP:
        return None
    for template in TEMPLATES[asked]:
        m = _pattern(template).match(ex.question)
        if m:
            return ex.model_copy(
                update={
                    "id": f"{ex.id}/restated",
                    "question": TEMPLATES[rel][0].format(**m.groupdict()),
                    "answer": ex.answer if rel == asked else FLIP[ex.answer],
                    "categories": {**ex.categories, "relation": rel},
                    "twin_id": None,
                    "twin_role": None,
                }
            )
    return None


def restated(examples: list[Example]) -> list[Example]:
    """The restatements of those of ``examples`` that have one, in their order."""
    return [r for r in map(restate, examples) if r is not None]
