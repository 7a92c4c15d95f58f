"""The conditions of one evaluation run: the plain image condition, text-only controls, interventions."""

from __future__ import annotations

from .interventions import parse
from .scoring import Condition


def conditions_for(interventions: list[str], controls: bool) -> list[Condition]:
    conds = [Condition("image")]
    if controls:
        conds += [Condition("no-image", use_image=False), Condition("description", use_image=False, use_context=True)]
    seen = {c.name for c in conds}
    for text in interventions:
        label = "+".join(s.label for s in parse(text))
        if label not in seen:
            conds.append(Condition(label, interventions=(text,)))
            seen.add(label)
    return conds
