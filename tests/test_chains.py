"""Compositional questions (scenes/families/compositional.py): every stored chain re-derived by an interpreter written
here from the relation definitions alone, every relate step clear of its margin, and CLEVR's degenerate
questions absent. The step form is CLEVR's (facebookresearch/clevr-dataset-gen: a program is a list of
functions such as filter_color, unique, relate, count, exist, query_color, each taking the previous output)."""

from __future__ import annotations

import collections

import pytest

from spatialgen.scenes.config import resolve_config
from spatialgen.scenes.domains import domain_of
from spatialgen.scenes.families import execute
from spatialgen.scenes.families.compositional import FAMILIES, MAX_HOPS, WORDS
from spatialgen.scenes.flat.example import make_example
from spatialgen.scenes.programs import Program


def interpret(steps, scene):
    """An independent reading of a step list (a stack: each step pops its inputs, pushes its output), with
    every relate and between verdict checked for a margin."""
    objs = scene.by_id
    dom = domain_of(scene)
    stack, unclear = [], False
    for fn, value in steps:
        if fn == "_push":  # a constant input (walks_back reads one step at a time)
            stack.append(value)
        elif fn == "scene":
            stack.append([o.id for o in scene.objects])
        elif fn.startswith("filter_"):
            stack.append([i for i in stack.pop() if getattr(objs[i], fn[7:]) == value])
        elif fn == "unique":
            ids = stack.pop()
            assert len(ids) == 1, f"unique over {ids}"
            stack.append(ids[0])
        elif fn == "relate":
            anchor = stack.pop()
            holds = dom.relations[value].holds
            verdicts = {o.id: holds(scene, o, objs[anchor]) for o in scene.objects if o.id != anchor}
            unclear |= None in verdicts.values()
            stack.append([i for i, v in verdicts.items() if v])
        elif fn == "between":
            b, a = stack.pop(), stack.pop()
            verdicts = {o.id: dom.between(scene, o, objs[a], objs[b]) for o in scene.objects if o.id not in (a, b)}
            unclear |= None in verdicts.values()
            stack.append([i for i, v in verdicts.items() if v])
        elif fn == "count":
            stack.append(str(len(stack.pop())))
        elif fn == "exist":
            stack.append("yes" if stack.pop() else "no")
        elif fn == "greater":
            y, x = int(stack.pop()), int(stack.pop())
            stack.append("yes" if x > y else "no")
        elif fn in ("intersect", "union"):
            y, x = set(stack.pop()), set(stack.pop())
            stack.append(sorted(x & y if fn == "intersect" else x | y))
        elif fn.startswith("same_"):
            j, i = stack.pop(), stack.pop()
            stack.append("yes" if getattr(objs[i], fn[5:]) == getattr(objs[j], fn[5:]) else "no")
        else:
            stack.append(getattr(objs[stack.pop()], fn[6:]))
    assert len(stack) == 1
    return stack[0], unclear


def chains(cfg, n):
    for i in range(n):
        for q in make_example(cfg, 0, i).original.questions:
            if q.program.family in FAMILIES:
                yield make_example(cfg, 0, i).original.scene, q


@pytest.mark.parametrize(("preset", "hops"), [("medium", 1), ("medium", 2), ("hard", 3), ("expert", 2)])
def test_every_chain_rederives_and_no_step_is_ambiguous(preset, hops):
    cfg = resolve_config(preset).model_copy(update={"hops": hops})
    seen = collections.Counter()
    for scene, q in chains(cfg, 120):
        p = q.program
        seen[p.family] += 1
        relates = sum(fn == "relate" for fn, _ in p.steps)
        per_family = {"relate_compare": 2 * hops, "relate_and_or": 2 * hops, "between_exist": 0}
        assert relates == per_family.get(p.family, hops)
        answer, unclear = interpret(p.steps, scene)
        assert not unclear, q.text
        assert answer == p.answer == q.answer == execute(p, scene), q.text
        assert answer in q.candidates
        assert q.text.count("the ") >= min(hops, 1 + (p.family == "between_exist"))  # the anchors are named
        assert all(v in WORDS for fn, v in p.steps if fn == "relate")
    assert len(seen) >= 5, seen


ARITY = {"scene": 0, "between": 2, "greater": 2, "intersect": 2, "union": 2, "same_color": 2, "same_shape": 2}


def walks_back(steps, scene) -> bool:
    """Whether a question reaches back to an object it names: a relate (or between) set holding an object
    named earlier in its own phrase (the steps since the last ``scene``), or a counted set holding any object
    the question names ("How many pentagons are above the object near the object near the cyan star?" with
    the second hop leading back to the cyan star). Each step is read by ``interpret`` itself."""
    stack, phrase, everywhere = [], set(), set()
    for fn, value in steps:
        k = ARITY.get(fn, 1)
        inputs = stack[len(stack) - k :]
        del stack[len(stack) - k :]
        if fn in ("count", "exist") and everywhere & set(inputs[0]):
            return True
        # interpret's own reading of this one step: its inputs pushed back as constants first
        out, _ = interpret([("scene", "")] if fn == "scene" else [*(("_push", x) for x in inputs), (fn, value)], scene)
        if fn == "scene":
            phrase = set()
        if fn in ("relate", "between") and phrase & set(out):
            return True
        if fn == "unique":
            phrase.add(out)
            everywhere.add(out)
        stack.append(out)
    return False


@pytest.mark.parametrize("hops", [2, 3])
def test_no_chain_walks_back_to_an_object_it_names(hops):
    # Before the rule (the code of 2026-12-07 morning, 300 hard scenes): 121 of 333 at hops 2, 88 of 230 at 3.
    cfg = resolve_config("hard").model_copy(update={"hops": hops})
    asked = [(scene, q) for scene, q in chains(cfg, 200)]
    assert len(asked) > 60
    back = [q.text for scene, q in asked if walks_back(q.program.steps, scene)]
    assert not back, back[:3]


def test_every_family_is_asked():
    cfg = resolve_config("medium").model_copy(update={"hops": 1})
    assert {q.program.family for _, q in chains(cfg, 200)} == set(FAMILIES)


def test_degenerate_questions_are_not_asked():
    """CLEVR's rules: a query's filter never names its object without the relation; a count or an existence
    answer is never what the filter alone would give (some match lies outside the related set)."""
    cfg = resolve_config("hard").model_copy(update={"hops": 1})
    n = 0
    for scene, q in chains(cfg, 150):
        p = q.program
        if p.family == "relate_and_or":  # neither condition alone gives the joined set
            second = [i for i, s in enumerate(p.steps) if s == ("scene", "")][1]
            a, _ = interpret(p.steps[:second], scene)
            b, _ = interpret(p.steps[second:-2], scene)
            joined, _ = interpret(p.steps[:-1], scene)
            assert sorted(joined) not in (sorted(a), sorted(b)), q.text
        if p.family not in ("relate_count", "relate_exist", "relate_query"):
            continue
        last = [i for i, (fn, _) in enumerate(p.steps) if fn == "relate"][-1]
        tail = [s for s in p.steps[last + 1 :] if s[0].startswith("filter_")]
        anchor = p.objects[0]
        others = [o for o in scene.objects if o.id != anchor]
        matches = [o for o in others if all(getattr(o, fn[7:]) == v for fn, v in tail)]
        related, _ = interpret(p.steps[: last + 1], scene)
        inside = [o for o in matches if o.id in related]
        if p.family == "relate_query":
            assert len(matches) > 1, q.text  # the filter alone does not name it
            assert len(inside) == 1
        else:
            assert len(inside) < len(matches), q.text
        n += 1
    assert n > 50


def test_exist_answers_are_balanced_and_hops_zero_asks_none():
    cfg = resolve_config("medium")
    assert cfg.hops == 0 and not list(chains(cfg, 60))
    answers = collections.Counter(
        (q.program.family, q.answer)
        for _, q in chains(cfg.model_copy(update={"hops": 2}), 300)
        if q.answer_type == "yes_no"
    )
    # Each scene alternates its yes/no targets; per family, a "yes" is harder to find (a non-empty related
    # set with a match outside it), so yes slots get more attempts: each family stays near balanced.
    for family in ("relate_exist", "relate_compare", "between_exist", "same_attribute"):
        yes, no = answers[(family, "yes")], answers[(family, "no")]
        assert 0.35 <= yes / (yes + no) <= 0.65, (family, yes, no)


def test_steps_round_trip_and_bad_hops_are_refused():
    from pydantic import ValidationError

    p = Program("relate_count", "count", (1,), answer="2", steps=(("scene", ""), ("relate", "left_of"), ("count", "")))
    assert Program.from_dict(p.to_dict()) == p
    legacy = {k: v for k, v in p.to_dict().items() if k != "steps"}
    assert Program.from_dict(legacy).steps == ()
    with pytest.raises(ValidationError):
        resolve_config("medium").model_validate({**resolve_config("medium").model_dump(), "hops": MAX_HOPS + 1})


def test_3d_scenes_ask_chains_through_the_same_engine():
    """The 3D domain (its own relations: left/right, in front of/behind, near) runs the same step lists;
    the layout needs no Blender (the visibility prepass is stubbed: every object counts as visible)."""
    from spatialgen.scenes.world.example import make_example3d

    cfg = resolve_config("3d").model_copy(update={"hops": 2})
    fams, rels = collections.Counter(), set()
    for i in range(80):
        view = make_example3d(cfg, 0, i, lambda s: (True, None)).original
        for q in view.questions:
            if q.program.family in FAMILIES:
                fams[q.program.family] += 1
                rels |= {v for fn, v in q.program.steps if fn == "relate"}
                answer, unclear = interpret(q.program.steps, view.scene)
                assert not unclear and answer == q.program.answer == execute(q.program, view.scene), q.text
                assert "toruss" not in q.text
    assert len(fams) >= 4 and "between_exist" not in fams and {"in_front_of", "behind"} & rels, (fams, rels)


def _grammar():
    """A small English grammar of the compositional questions that keeps the readings English allows: a
    prepositional phrase after a noun may modify it (a reduced relative) or be one more predicate of the
    subject (stacked: "are left of X above Y"), and "and"/"or" may join predicates at any depth. "both ... and"
    / "either ... or" and "that is" bind where they stand. A wording is unambiguous if it has one parse."""
    from nltk import CFG

    from spatialgen.scenes.referring import plural
    from spatialgen.scenes.vocab import COLORS, SHAPES, SIZES
    from spatialgen.scenes.world.scene import MATERIALS, SHAPES3D

    def alts(words) -> str:
        return " | ".join(" ".join(f"'{t}'" for t in w.split()) for w in words)

    shapes = sorted(set(SHAPES) | set(SHAPES3D))
    return CFG.fromstring(
        f"""
        S -> 'how' 'many' NOMS 'are' PRED '?'
        S -> 'is' 'there' NPI '?' | 'is' 'there' NPI 'between' NP 'and' NP '?'
        S -> 'what' ATTR 'is' NP '?'
        S -> 'does' NP 'have' 'the' 'same' ATTR 'as' NP '?'
        S -> 'among' 'the' 'objects' PRED ',' 'are' 'there' 'more' NOMS 'than' NOMS '?'
        S -> 'are' 'there' 'more' NOMX 'than' NOMX '?' | 'are' 'there' 'more' NOMX 'than' NOMX PRED '?'
        NOMX -> NOMS | NOMS PRED
        PRED -> REL | PRED REL | PRED 'and' PRED | PRED 'or' PRED
        PRED -> 'both' PRED 'and' PRED | 'either' PRED 'or' PRED
        REL -> P NP
        NP -> 'the' NOM | 'the' NOM REL | 'the' NOM 'that' 'is' PRED
        NPI -> DI NOM | DI NOM PRED | DI NOM 'that' 'is' PRED
        DI -> 'a' | 'an'
        NOM -> N | ADJS N
        NOMS -> NS | ADJS NS
        ADJS -> ADJ | ADJ ADJS
        ADJ -> {alts([*COLORS, *SIZES, *MATERIALS])}
        N -> {alts([*shapes, "object"])}
        NS -> {alts([*(plural(s) for s in shapes), "objects"])}
        ATTR -> 'color' | 'shape' | 'material'
        P -> {alts(WORDS.values())}
        """
    )


def _parses(parser, text: str) -> int:
    tokens = text.lower().replace("?", " ?").replace(",", " ,").split()
    return sum(1 for _ in parser.parse(tokens))


def test_old_wordings_had_two_parses():
    """The grammar sees the ambiguity the issue found (#37's example), and the plain forms it came from."""
    from nltk import ChartParser

    parser = ChartParser(_grammar())
    old = [
        "How many objects are above the object to the left of the red square and to the right of the red "
        "object to the left of the green square?",
        "How many squares are to the left of the object above the red circle?",
        "Are there more circles than squares below the yellow hexagon?",
    ]
    assert all(_parses(parser, t) > 1 for t in old)


def test_every_compositional_wording_has_one_parse():
    from nltk import ChartParser

    parser = ChartParser(_grammar())
    seen = collections.Counter()
    for preset, hops, n in (("hard", 1, 120), ("medium", 2, 120), ("hard", 3, 60)):
        for _, q in chains(resolve_config(preset).model_copy(update={"hops": hops}), n):
            assert _parses(parser, q.text) == 1, q.text
            seen[q.program.family, hops] += 1
    assert {f for f, _ in seen} == set(FAMILIES) and {h for _, h in seen} == {1, 2, 3}, seen
    # and/or over two-hop chains is rare (none in 200 hard scenes): #37's example as it is worded now
    now = (
        "How many objects are both above the object that is to the left of the red square and to the right of "
        "the red object that is to the left of the green square?"
    )
    assert _parses(parser, now) == 1
