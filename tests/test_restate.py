"""Restated questions (training/restate.py): every yes/no question of a family with an inverse wording asked again in
its relation's first template, the answer flipped where the inverse was used. Checked against the geometry stored
with each scene (box centres), not against the module's own rule, and against every such family the fixtures
draw."""

from __future__ import annotations

from pathlib import Path

import pytest

from spatialgen.eval.sources import load_source
from spatialgen.generator.folder import iter_rows
from spatialgen.scenes.families import TEMPLATES
from spatialgen.training.restate import inverses, restate, restated

from .conftest import make_spec


@pytest.fixture(scope="module")
def easy_lr(tmp_path_factory) -> Path:
    """`easy` left/right and above/below questions: the families the geometry check below reads."""
    from spatialgen.generator.run import render_run

    out = tmp_path_factory.mktemp("restate") / "easy"
    render_run(out, make_spec(n=40, preset="easy", families={"left_right": 1.0, "above_below": 1.0}), workers=1)
    return out


def test_every_question_is_restated_in_one_wording_and_true_of_the_scene(easy_lr):
    examples = load_source(str(easy_lr), split="all").examples
    rows = {r["id"]: r for r in iter_rows(easy_lr, ["id", "objects", "questions"])}
    inverse = [e for e in examples if e.categories["relation"] in ("right_of", "below")]
    assert inverse and len(inverse) < len(examples)  # both wordings were drawn, or this shows nothing
    out = restated(examples)
    assert [e.id for e in out] == [f"{e.id}/restated" for e in examples]
    for before, after in zip(examples, out, strict=True):
        rel = after.categories["relation"]
        assert rel == {"right_of": "left_of", "below": "above"}.get(before.categories["relation"], rel)
        a_name, b_name = _names(before)
        assert after.question == TEMPLATES[rel][0].format(a=a_name, b=b_name)  # "Is A to the left of B?"
        scene_id, qid = before.id.split("/")
        q = next(q for q in rows[scene_id]["questions"] if q["qid"] == qid)
        a, b = (_centre(rows[scene_id], i) for i in q["program"]["objects"])
        axis = 0 if rel == "left_of" else 1  # image y grows downward: "above" is the smaller y
        assert after.answer == ("yes" if a[axis] < b[axis] else "no"), (before.question, after.question)
        assert (after.answer != before.answer) == (before in inverse) and after.twin_id is None


def _names(ex) -> tuple[str, str]:
    """The two object phrases of a left/right or above/below question ("the red circle")."""
    for t in TEMPLATES[ex.categories["relation"]]:
        m = _match(t, ex.question)
        if m:
            return m[1], m[2]
    raise AssertionError(ex.question)


def _centre(row: dict, object_id: int) -> tuple[float, float]:
    x0, y0, x1, y1 = next(o for o in row["objects"] if o["id"] == object_id)["bbox"]
    return (x0 + x1) / 2, (y0 + y1) / 2


def test_other_families(rendered):
    """The default preset's other families with an inverse wording (near/far, size, closer/farther): each yes/no
    question restated in its relation's first template, the objects' phrases kept; other families untouched."""
    examples = load_source(str(rendered), split="all").examples
    out = {e.id: e for e in restated(examples)}
    seen = set()
    for e in examples:
        asked = e.categories.get("relation", "")
        rel = inverses().get(asked, asked)
        if rel not in inverses().values() or e.answer_type != "yes_no":
            assert e.id + "/restated" not in out
            continue
        r = out[e.id + "/restated"]
        assert _fits(TEMPLATES[rel][0], r.question) and r.categories["relation"] == rel
        assert (r.answer == e.answer) == (rel == asked)
        seen.add(asked)
    assert {"far", "smaller", "near", "bigger"} <= seen, seen  # the fixture draws these, or this shows less


def _match(template: str, text: str):
    """The template's object phrases ({a}, {b}, {c}) in ``text``, written here from the template's format
    rather than taken from the module under test; None if ``text`` is not that template."""
    import re

    pattern = re.escape(template)
    for name in "abc":
        pattern = pattern.replace(rf"\{{{name}\}}", "(.+?)")
    return re.fullmatch(pattern, text)


def _fits(template: str, text: str) -> bool:
    return _match(template, text) is not None


def test_text_that_is_no_template_is_skipped(rendered):
    e = next(e for e in load_source(str(rendered), split="all").examples if e.categories["relation"] == "far")
    assert restate(e) is not None
    assert restate(e.model_copy(update={"question": "Is it far?"})) is None  # edited data: not guessed at
    assert restate(e.model_copy(update={"answer": "maybe"})) is None


def test_inverse_table_covers_both_domains():
    assert inverses()["right_of"] == "left_of" and inverses()["behind"] == "in_front_of"
    assert inverses()["farther_from_camera"] == "closer_to_camera"  # 3D only
    assert all(rel in TEMPLATES and inv in TEMPLATES for inv, rel in inverses().items())
