"""Question families, one module each, in the manner of CLEVR's question engine.

A family module declares a ``FAMILY`` (base.Family): its templates, how it draws a question from a scene
(``build``), how a stored program is answered again (``execute``) and the fewest objects it needs. This
package is the handler table the question draw (questions.py) and the executor go through:

- ``relation``: yes/no questions about one relation (every family a domain lists in ``binary`` or
  ``searched``: left_right, above_below, near_far, size, closer, overlap, occlusion; 3D front_behind,
  on_top, camera_distance);
- ``extreme``: which object is furthest in a direction;
- ``count``: how many / is there, by a color or shape filter;
- ``attribute``: what color / shape / material is the named object;
- ``compositional``: CLEVR-style step programs with relate hops (relate_count, ... same_attribute).

Adding a family is one module here, listed at the end of ``_MODULES``: the configs' family orders end
with the declared families (``DECLARED``), so a config can weigh it, and one that does not (a weight of 0,
the default) draws exactly what it drew before.
"""

from __future__ import annotations

from ..domain import Domain
from ..domains import domain_of
from ..programs import Program, Question
from . import attribute, compositional, count, extreme, relation
from .base import Ctx, Family

_MODULES = (relation, extreme, count, attribute, compositional)
# Families declared by name; the relation families are named by each domain (Domain.binary / searched).
BY_NAME: dict[str, Family] = {name: m.FAMILY for m in _MODULES for name in m.FAMILY.names}
# Every template of every family (the tiny model's tokenizer is trained on their words).
TEMPLATES: dict[str, tuple[str, ...]] = {k: v for m in _MODULES for k, v in m.FAMILY.templates.items()}
COMPOSITIONAL = compositional.FAMILIES
# The declared families in the order the question draw walks them, after a domain's relation families.
DECLARED: tuple[str, ...] = tuple(BY_NAME)
FLAT_ONLY: tuple[str, ...] = tuple(n for m in _MODULES for n in m.FAMILY.flat_only)


def family(name: str, dom: Domain) -> Family:
    """The family that asks ``name`` in a domain: a declared one, or a relation family the domain lists."""
    if name in BY_NAME:
        return BY_NAME[name]
    if name in dom.binary or name in dom.searched:
        return relation.FAMILY
    raise ValueError(f"unknown question family {name!r}")


def build(ctx: Ctx, name: str, target: str) -> Question | None:
    """A question of family ``name`` about ctx's scene (a yes/no one answering ``target``), or None."""
    return family(name, ctx.dom).build(ctx, name, target)


def min_objects(name: str) -> int:
    """The fewest objects a scene needs before family ``name`` can be asked at all."""
    return BY_NAME[name].min_objects if name in BY_NAME else relation.ARITY.get(name, 2)


def execute(p: Program, scene) -> str | None:
    """The canonical answer on ``scene``, or None if the question is ambiguous there (inside a margin,
    or a multiple-choice answer that is not among the choices). Step programs run through the
    compositional family's stack machine; a relation program through its domain's relation."""
    if p.steps:
        handler = compositional.FAMILY
    elif p.relation in domain_of(scene).relations:
        handler = relation.FAMILY
    elif p.family in BY_NAME:
        handler = BY_NAME[p.family]
    else:
        raise ValueError(f"unknown program family {p.family!r}")
    out = handler.execute(p, scene)
    if out is not None and p.choices and out not in p.choices:
        return None
    return out


__all__ = [
    "BY_NAME",
    "COMPOSITIONAL",
    "DECLARED",
    "FLAT_ONLY",
    "TEMPLATES",
    "Ctx",
    "Family",
    "build",
    "execute",
    "family",
    "min_objects",
]
