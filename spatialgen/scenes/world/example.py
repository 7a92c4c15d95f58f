"""Scene i of a 3D run, with questions and twin. A pure function of (seed, i, config) and of a visibility
pre-pass (a deterministic render) supplied by the caller, so this module stays free of rendering."""

from __future__ import annotations

from ..example import Drafting, Prepass, SceneExample, draw_example
from ..families import execute
from ..questions import Question
from .config import Scene3DConfig
from .describe import describe3d
from .layout import LAYOUT_ATTEMPTS, in_view, sample_layout3d, separated
from .relations import DOMAIN_3D
from .scene import Scene3D


def _free(scene: Scene3D, i: int) -> bool:
    """On the ground with nothing on top: it can move without dragging another object along."""
    return scene.by_id[i].on < 0 and not any(o.on == i for o in scene.objects)


def _twin_of(scene: Scene3D, cfg: Scene3DConfig, probe: Question) -> Scene3D | None:
    """The probe's two objects swapped, if both stand free, the swap flips the answer, and the twin keeps
    its spacing and stays in view."""
    a, b = probe.program.objects[:2]
    if not (_free(scene, a) and _free(scene, b)):
        return None
    oa, ob = scene.by_id[a], scene.by_id[b]
    twin = scene.with_positions({a: (ob.x, ob.y), b: (oa.x, oa.y)})
    flipped = execute(probe.program, twin)
    if flipped is None or flipped == probe.program.answer or not separated(cfg, twin.objects) or not in_view(twin):
        return None
    return twin


def _infeasible(cfg: Scene3DConfig, index: int, twins: bool) -> str:
    return (
        f"scene {index}: no layout in {LAYOUT_ATTEMPTS} tries left every object at least {cfg.min_visible:.0%} "
        f"visible ({cfg.min_visible_px} px){' with a swappable pair' if twins else ''}; lower 'objects' or "
        "'min_visible', or raise 'area'"
    )


WORLD = Drafting(
    "scene3d", DOMAIN_3D.twin_families, LAYOUT_ATTEMPTS, sample_layout3d, _twin_of, describe3d, _infeasible
)


def make_example3d(
    cfg: Scene3DConfig, seed: int, index: int, prepass: Prepass, twins: bool = False, digest: str | None = None
) -> SceneExample:
    """Scene ``index`` of a 3D run; ``prepass`` (the caller's ID render) keeps only layouts where every object
    shows enough."""
    return draw_example(WORLD, cfg, seed, index, prepass, twins, digest)
