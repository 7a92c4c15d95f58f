"""The conditions of one evaluation run: the plain image condition, text-only controls, interventions."""

from __future__ import annotations

from dataclasses import dataclass, field

from spatialgen.models.interventions import Spec, parse


@dataclass(frozen=True)
class Condition:
    """One way of asking: with the image, without it, or with the scene description instead; its
    interventions parsed (models/interventions.py), so nothing downstream reads their text again."""

    name: str = "image"
    use_image: bool = True
    use_context: bool = False
    interventions: tuple[Spec, ...] = field(default_factory=tuple)


def conditions_for(interventions: list[str], controls: bool, text_only: bool = False) -> list[Condition]:
    """The conditions of a run: the image, the text-only controls if asked, and one per intervention. A
    text-only LM (the paper's Vicuna rows) is asked without the image, and with the description if asked."""
    no_image, described = Condition("no-image", use_image=False), Condition("description", False, True)
    if text_only:
        return [no_image, *([described] if controls else [])]
    conds = [Condition("image")]
    if controls:
        conds += [no_image, described]
    seen = {c.name for c in conds}
    for text in interventions:
        specs = tuple(parse(text))
        label = "+".join(s.label for s in specs)
        if label not in seen:
            conds.append(Condition(label, interventions=specs))
            seen.add(label)
    return conds
