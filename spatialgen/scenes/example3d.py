"""Scene i of a 3D run, with questions and twin. A pure function of (seed, i, config) and of a visibility
pre-pass (a deterministic render) supplied by the caller, so this module stays free of rendering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config3d import Scene3DConfig
from .describe import describe3d
from .errors import InfeasibleLayout
from .example import View, twin_questions
from .layout3d import LAYOUT_ATTEMPTS, in_view, sample_layout3d, separated
from .programs import execute
from .questions import make_questions, probe_question
from .relations3d import DOMAIN_3D
from .rng import Rng
from .scene3d import Scene3D

# prepass(scene) -> (all objects visible enough?, payload kept with the view: masks, pixel counts)
Prepass = Callable[[Scene3D], tuple[bool, Any]]


@dataclass(frozen=True)
class Example3D:
    index: int
    original: View
    twin: View | None
    payload: Any
    twin_payload: Any = None


def _free(scene: Scene3D, i: int) -> bool:
    """On the ground with nothing on top: it can move without dragging another object along."""
    return scene.by_id[i].on < 0 and not any(o.on == i for o in scene.objects)


def make_example3d(
    cfg: Scene3DConfig, seed: int, index: int, prepass: Prepass, twins: bool = False, digest: str | None = None
) -> Example3D:
    rng = Rng("scene3d", seed, index, digest or cfg.digest())
    fams = [f for f in DOMAIN_3D.twin_families if cfg.families.get(f, 0) > 0] or ["left_right"]
    for _ in range(LAYOUT_ATTEMPTS):
        scene = sample_layout3d(cfg, rng)
        ok, payload = prepass(scene)
        if not ok:
            continue
        if not twins:
            return Example3D(
                index, View(scene, tuple(make_questions(scene, cfg, rng)), describe3d(scene)), None, payload
            )
        target = "yes" if rng.coin() else "no"
        for fam in rng.shuffle(list(fams)):
            probe = probe_question(scene, cfg, rng, fam, target)
            if probe is None:
                continue
            a, b = probe.program.objects[:2]
            if not (_free(scene, a) and _free(scene, b)):
                continue
            oa, ob = scene.by_id[a], scene.by_id[b]
            twin = scene.with_positions({a: (ob.x, ob.y), b: (oa.x, oa.y)})
            flipped = execute(probe.program, twin)
            if (
                flipped is None
                or flipped == probe.program.answer
                or not separated(cfg, twin.objects)
                or not in_view(twin)
            ):
                continue
            ok, twin_payload = prepass(twin)
            if not ok:
                continue
            questions = make_questions(scene, cfg, rng, probe=probe)
            twin_qs = twin_questions(questions, twin)
            return Example3D(
                index,
                View(scene, tuple(questions), describe3d(scene)),
                View(twin, tuple(twin_qs), describe3d(twin)),
                payload,
                twin_payload,
            )
    raise InfeasibleLayout(
        f"scene {index}: no layout in {LAYOUT_ATTEMPTS} tries left every object at least {cfg.min_visible:.0%} "
        f"visible ({cfg.min_visible_px} px){' with a swappable pair' if twins else ''}; lower 'objects' or "
        "'min_visible', or raise 'area'"
    )
