"""Question families, one module each (scenes/families/): the handler table covers every family a
config can weigh, and a family declared in one place is drawn and answered through it."""

from __future__ import annotations

import pytest

from spatialgen.scenes import families
from spatialgen.scenes.config import active_families
from spatialgen.scenes.domains import kinds
from spatialgen.scenes.families.base import Family, finish, fresh
from spatialgen.scenes.flat.config import FAMILIES, SceneConfig
from spatialgen.scenes.flat.example import make_example
from spatialgen.scenes.programs import Program
from spatialgen.scenes.questions import make_questions
from spatialgen.scenes.rng import Rng
from spatialgen.scenes.world.config import FAMILIES_3D


@pytest.mark.parametrize(("names", "kind"), [(FAMILIES, "2d"), (FAMILIES_3D, "3d")])
def test_every_configurable_family_has_a_handler(names, kind):
    dom = kinds()[kind]
    for name in names:
        fam = families.family(name, dom)
        assert families.min_objects(name) >= 1
        # Its wording exists for every relation or query it can ask (relation families: both wordings).
        for rel in dom.binary.get(name, ()):
            assert fam.templates[rel]
    with pytest.raises(ValueError, match="unknown question family"):
        families.family("no_such_family", dom)


def test_the_configs_walk_the_declared_families_after_the_domains_relations():
    """The draw's order is part of the seed's meaning: the declared families come last, in module order,
    so a family added at the end with weight 0 leaves every draw as it was."""
    assert FAMILIES[-len(families.DECLARED) :] == families.DECLARED
    assert FAMILIES_3D[-(len(families.DECLARED) - len(families.FLAT_ONLY)) :] == tuple(
        f for f in families.DECLARED if f not in families.FLAT_ONLY
    )


def _parity_family() -> Family:
    """A family written as a new module would write it: "Is the number of objects even?"."""
    templates = {"parity": ("Is the number of objects even?", "Is there an even number of objects?")}

    def execute(p, scene):
        return "yes" if len(scene.objects) % 2 == 0 else "no"

    def build(ctx, name, target):
        p = Program("parity", "parity", answer=execute(None, ctx.scene))
        if p.answer != target or not fresh(ctx, p):
            return None
        return finish(ctx, templates["parity"], p, "yes_no", {})

    return Family(("parity",), templates, build, execute, min_objects=1)


def test_a_family_declared_in_one_place_is_drawn_and_executed_through_the_table(monkeypatch):
    monkeypatch.setitem(families.BY_NAME, "parity", _parity_family())
    cfg = SceneConfig(objects=(2, 5), questions_per_scene=6)
    monkeypatch.setattr("spatialgen.scenes.questions.active_families", lambda c: {**active_families(c), "parity": 50.0})
    asked = 0
    for i in range(30):
        ex = make_example(cfg, seed=1, index=i)
        qs = make_questions(ex.original.scene, cfg, Rng(b"parity", i))
        for q in qs:
            assert families.execute(q.program, ex.original.scene) == q.program.answer
            if q.program.family == "parity":
                asked += 1
                assert q.answer == ("yes" if len(ex.original.scene.objects) % 2 == 0 else "no")
                assert q.text.startswith("Is ")
    assert asked >= 10  # weight 50 against ~14: most scenes ask it (once: a program is asked once)


def test_an_unknown_program_family_is_refused():
    ex = make_example(SceneConfig(), seed=0, index=0)
    with pytest.raises(ValueError, match="unknown program family"):
        families.execute(Program("nope", "nope"), ex.original.scene)
