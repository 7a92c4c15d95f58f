"""Balancing statistics over many scenes: yes/no, option letters, family mix."""

from __future__ import annotations

from collections import Counter

import pytest

from spatialgen.scenes.config import resolve_config
from spatialgen.scenes.flat.example import make_example


@pytest.fixture(scope="module")
def questions():
    cfg = resolve_config("medium")
    digest = cfg.digest()
    return cfg, [q for i in range(1500) for q in make_example(cfg, 11, i, digest=digest).original.questions]


def test_yes_no_within_two_points(questions):
    _, qs = questions
    yn = Counter(q.answer for q in qs if q.answer_type == "yes_no")
    assert sum(yn.values()) > 3000
    assert abs(yn["yes"] / sum(yn.values()) - 0.5) <= 0.02


def test_yes_no_balanced_within_each_family(questions):
    _, qs = questions
    for fam in ("left_right", "above_below", "near_far", "size", "closer", "exist"):
        yn = Counter(q.answer for q in qs if q.program.family == fam)
        assert abs(yn["yes"] / sum(yn.values()) - 0.5) <= 0.06, fam


def test_option_letters_uniform(questions):
    _, qs = questions
    letters = Counter(q.answer for q in qs if q.answer_type == "multiple_choice")
    n = sum(letters.values())
    assert n > 600 and set(letters) == set("ABCD")
    # chi-square with 3 degrees of freedom; 11.34 is the 1 % critical value.
    chi2 = sum((letters[k] - n / 4) ** 2 / (n / 4) for k in "ABCD")
    assert chi2 < 11.34, letters


def test_family_mix_follows_config(questions):
    cfg, qs = questions
    from spatialgen.scenes.config import active_families

    fam = Counter(q.program.family for q in qs)
    active = active_families(cfg)  # the compositional families are off at hops 0
    assert set(fam) <= set(active)
    total_w = sum(active.values())
    for f, w in active.items():
        assert abs(fam[f] / len(qs) - w / total_w) <= 0.035, f


def test_family_mix_follows_a_skewed_config():
    cfg = resolve_config("medium").model_copy(update={"families": {"left_right": 3, "count": 1}})
    fam = Counter(q.program.family for i in range(300) for q in make_example(cfg, 0, i).original.questions)
    assert abs(fam["left_right"] / sum(fam.values()) - 0.75) < 0.04
    assert set(fam) == {"left_right", "count"}
