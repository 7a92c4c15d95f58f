"""Scene i of a run, with its questions and (optionally) its twin: a pure function of (seed, i, config).

One drafting loop serves every domain (``draw_example``); a domain hands it a ``Drafting`` (flat 2D: ``FLAT``
in flat/example.py; 3D: ``WORLD`` in world/example.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .errors import InfeasibleLayout
from .families import execute
from .programs import display_answer
from .questions import Question, make_questions, probe_question
from .rng import Rng


@dataclass(frozen=True)
class View:
    """One image's worth: a scene, its questions and its text description."""

    scene: Any  # the domain's scene (flat.scene.Scene, world.scene.Scene3D)
    questions: tuple[Question, ...]
    description: str


@dataclass(frozen=True)
class SceneExample:
    """Scene ``index`` of a run: its view, its twin's (or None), and what a domain's pre-pass kept with each
    (3D: the ID render's masks and pixel counts; 2D: nothing)."""

    index: int
    original: View
    twin: View | None = None
    payload: Any = None
    twin_payload: Any = None


# prepass(scene) -> (all objects visible enough?, payload kept with the view)
Prepass = Callable[[Any], tuple[bool, Any]]


def _nothing_to_check(scene) -> tuple[bool, Any]:
    return True, None


@dataclass(frozen=True)
class Drafting:
    """How a domain drafts a scene for ``draw_example``: its random stream's name, the families a twin can
    probe, how many layouts to try, its layout sampler, its twin maker (swap the probe's two objects; None
    where the swap is invalid or does not flip the answer), its description, and the line that says why no
    layout worked."""

    stream: str
    twin_families: tuple[str, ...]
    attempts: int
    layout: Callable[[Any, Rng], Any]
    swap: Callable[[Any, Any, Question], Any]
    describe: Callable[[Any], str]
    infeasible: Callable[[Any, int, bool], str]


def draw_example(
    d: Drafting,
    cfg,
    seed: int,
    index: int,
    prepass: Prepass = _nothing_to_check,
    twins: bool = False,
    digest: str | None = None,
) -> SceneExample:
    """The one drafting loop every domain runs: draw a layout, keep it if the pre-pass passes, then (twins)
    find a probe whose swap flips it. Draw order is part of the seed's meaning: do not reorder."""
    rng = Rng(d.stream, seed, index, digest or cfg.digest())
    fams = [f for f in d.twin_families if cfg.families.get(f, 0) > 0] or ["left_right"]
    for _ in range(d.attempts):
        scene = d.layout(cfg, rng)
        ok, payload = prepass(scene)
        if not ok:
            continue
        if not twins:
            return SceneExample(
                index, View(scene, tuple(make_questions(scene, cfg, rng)), d.describe(scene)), None, payload
            )
        target = "yes" if rng.coin() else "no"
        for fam in rng.shuffle(list(fams)):
            probe = probe_question(scene, cfg, rng, fam, target)
            twin = d.swap(scene, cfg, probe) if probe is not None else None
            if twin is None:
                continue
            ok, twin_payload = prepass(twin)
            if not ok:
                continue
            questions = make_questions(scene, cfg, rng, probe=probe)
            return SceneExample(
                index,
                View(scene, tuple(questions), d.describe(scene)),
                View(twin, tuple(twin_questions(questions, twin)), d.describe(twin)),
                payload,
                twin_payload,
            )
    raise InfeasibleLayout(d.infeasible(cfg, index, twins))


def twin_questions(questions: list[Question], twin) -> list[Question]:
    """The original's questions asked of its twin (2D or 3D): each program re-executed on the swapped scene,
    its answer replaced; a question the twin cannot answer (inside a margin there) is dropped."""
    out = []
    for q in questions:
        ans = execute(q.program, twin)
        if ans is not None:
            p = replace(q.program, answer=ans)
            out.append(replace(q, answer=display_answer(p, ans), program=p))
    return out
