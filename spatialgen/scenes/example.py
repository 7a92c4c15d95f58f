"""Scene i of a run, with its questions and (optionally) its twin: a pure function of (seed, i, config)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .config import TWIN_FAMILIES, SceneConfig
from .describe import describe
from .errors import InfeasibleLayout
from .layout import LAYOUT_ATTEMPTS, fits, sample_layout
from .model import Scene
from .programs import display_answer, execute
from .questions import Question, make_questions, probe_question
from .rng import Rng


@dataclass(frozen=True)
class View:
    """One image's worth: a scene, its questions and its text description."""

    scene: Scene
    questions: tuple[Question, ...]
    description: str


@dataclass(frozen=True)
class Example:
    index: int
    original: View
    twin: View | None = None


def _twin_of(scene: Scene, cfg: SceneConfig, probe: Question) -> Scene | None:
    """The same objects with the probe's two compared objects swapped, if that still fits and flips it."""
    a, b = probe.program.objects[:2]
    oa, ob = scene.by_id[a], scene.by_id[b]
    twin = scene.with_positions({a: (ob.x, ob.y), b: (oa.x, oa.y)})
    if not fits(cfg, twin.objects):
        return None
    flipped = execute(probe.program, twin)
    if flipped is None or flipped == probe.program.answer:
        return None
    return twin


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


def _view(scene: Scene, questions: list[Question]) -> View:
    return View(scene, tuple(questions), describe(scene))


def make_example(cfg: SceneConfig, seed: int, index: int, twins: bool = False, digest: str | None = None) -> Example:
    rng = Rng("scene", seed, index, digest or cfg.digest())
    if not twins:
        scene = sample_layout(cfg, rng)
        return Example(index, _view(scene, make_questions(scene, cfg, rng)))
    fams = [f for f in TWIN_FAMILIES if cfg.families.get(f, 0) > 0] or ["left_right"]
    for _ in range(LAYOUT_ATTEMPTS):
        scene = sample_layout(cfg, rng)
        target = "yes" if rng.coin() else "no"
        for fam in rng.shuffle(list(fams)):
            probe = probe_question(scene, cfg, rng, fam, target)
            twin = _twin_of(scene, cfg, probe) if probe is not None else None
            if twin is None:
                continue
            questions = make_questions(scene, cfg, rng, probe=probe)
            return Example(index, _view(scene, questions), _view(twin, twin_questions(questions, twin)))
    raise InfeasibleLayout(
        f"scene {index}: found no pair whose swap keeps the layout valid and flips the answer in "
        f"{LAYOUT_ATTEMPTS} layouts; twins need at least 2 nameable objects and room to swap them"
    )
