"""Scene i of a flat 2D run, with its questions and (optionally) its twin: the flat domain's ``Drafting`` for
the one drafting loop (scenes/example.py). A pure function of (seed, i, config)."""

from __future__ import annotations

from ..example import Drafting, SceneExample, draw_example
from ..families import execute
from ..questions import Question
from .config import SceneConfig
from .describe import describe
from .layout import LAYOUT_ATTEMPTS, fits, sample_layout
from .relations import DOMAIN_2D
from .scene import Scene


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


def _infeasible(cfg: SceneConfig, index: int, twins: bool) -> str:
    return (
        f"scene {index}: found no pair whose swap keeps the layout valid and flips the answer in "
        f"{LAYOUT_ATTEMPTS} layouts; twins need at least 2 nameable objects and room to swap them"
    )


FLAT = Drafting("scene", DOMAIN_2D.twin_families, LAYOUT_ATTEMPTS, sample_layout, _twin_of, describe, _infeasible)


def make_example(
    cfg: SceneConfig, seed: int, index: int, twins: bool = False, digest: str | None = None
) -> SceneExample:
    """Scene ``index`` of a flat 2D run (a layout never fails its pre-pass: there is none)."""
    return draw_example(FLAT, cfg, seed, index, twins=twins, digest=digest)
