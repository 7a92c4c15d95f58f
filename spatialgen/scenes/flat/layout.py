"""Sampling object attributes and placing them on the canvas, with bounded retries.

An infeasible config fails fast: a density check before any sampling, then a fixed budget of placement
tries per object and of whole-layout restarts, ending in a clear error instead of an endless loop.
"""

from __future__ import annotations

import math

from ..errors import InfeasibleLayout
from ..rng import Rng
from ..vocab import unit_radius
from .config import SceneConfig
from .geometry import visible_fractions
from .scene import Obj, Scene, Stroke

PLACE_TRIES = 200
LAYOUT_ATTEMPTS = 40
# Random sequential placement of disks jams near 55 % coverage; stay well under it.
MAX_DENSITY = 0.45


def _min_dist(cfg: SceneConfig, a: Obj, b: Obj) -> float:
    if cfg.allow_overlap:
        # Overlap allowed, but no object may sit (almost) on top of another; visibility is checked after.
        return 0.8 * max(a.radius, b.radius) + cfg.min_separation_px
    return a.radius + b.radius + cfg.min_separation_px


def _largest_radius(cfg: SceneConfig) -> float:
    return max(cfg.sizes.values()) * cfg.size_scale * (1 + cfg.size_jitter) * max(unit_radius(s) for s in cfg.shapes)


def check_feasible(cfg: SceneConfig) -> None:
    """Reject configs that cannot work, before rendering anything."""
    usable = cfg.image_size - 2 * cfg.canvas_margin_px
    r = _largest_radius(cfg)
    if 2 * r > usable:
        raise InfeasibleLayout(
            f"the largest object ({2 * r:.0f} px across) does not fit in a {cfg.image_size} px canvas "
            f"with {cfg.canvas_margin_px:.0f} px margins; lower 'sizes' or 'size_scale'"
        )
    mean_side = sum(cfg.sizes.values()) / len(cfg.sizes) * cfg.size_scale
    mean_r = mean_side * sum(unit_radius(s) for s in cfg.shapes) / len(cfg.shapes)
    reach = mean_r + cfg.min_separation_px / 2 if not cfg.allow_overlap else 0.4 * mean_r + cfg.min_separation_px / 2
    density = cfg.objects[1] * math.pi * reach**2 / usable**2
    if density > MAX_DENSITY:
        raise InfeasibleLayout(
            f"{cfg.objects[1]} objects of ~{mean_side:.0f} px, {cfg.min_separation_px:.0f} px apart, would fill "
            f"{density:.0%} of a {cfg.image_size} px canvas (limit {MAX_DENSITY:.0%}); lower 'objects', 'sizes' "
            "or 'min_separation_px', or raise 'image_size'"
        )


def _attributes(cfg: SceneConfig, rng: Rng, n: int) -> list[dict]:
    out: list[dict] = []
    sizes = list(cfg.sizes)
    for k in range(n):
        shape, color = rng.choice(cfg.shapes), rng.choice(cfg.colors)
        if k and rng.coin(cfg.distractor_share):
            src = rng.choice(out)
            if rng.coin():
                shape = src["shape"]
            else:
                color = src["color"]
        size = rng.choice(sizes)
        scale = cfg.sizes[size] * cfg.size_scale * (1 + cfg.size_jitter * rng.uniform(-1, 1))
        turn = cfg.rotation_deg
        if cfg.margins.strict:  # no shape may turn into the look of another (a square into a diamond)
            turn = min(turn, cfg.shape_rotation_max.get(shape, turn))
        rotation = rng.uniform(-turn, turn) if cfg.rotation_deg and shape != "circle" else 0.0
        outline = rng.coin(cfg.outline_prob)
        texture = "striped" if rng.coin(cfg.texture_prob) else "solid"
        out.append(
            dict(
                id=k,
                shape=shape,
                color=color,
                size=size,
                scale=round(scale, 2),
                rotation=round(rotation, 2),
                outline=outline,
                texture=texture,
            )
        )
    return out


def fits(cfg: SceneConfig, objects: tuple[Obj, ...]) -> bool:
    """Every constraint a layout must meet: inside the canvas, separated, and visible enough."""
    lo, hi = cfg.canvas_margin_px, cfg.image_size - cfg.canvas_margin_px
    for k, a in enumerate(objects):
        if not (lo + a.radius <= a.x <= hi - a.radius and lo + a.radius <= a.y <= hi - a.radius):
            return False
        for b in objects[:k]:
            if math.hypot(a.x - b.x, a.y - b.y) < _min_dist(cfg, a, b):
                return False
    return not cfg.allow_overlap or min(visible_fractions(objects)) >= cfg.min_visible


def _place(cfg: SceneConfig, rng: Rng, attrs: list[dict]) -> tuple[Obj, ...] | None:
    lo, hi = cfg.canvas_margin_px, cfg.image_size - cfg.canvas_margin_px
    placed: list[Obj] = []
    for a in attrs:
        r = a["scale"] * unit_radius(a["shape"])
        for _ in range(PLACE_TRIES):
            o = Obj(**a, x=round(rng.uniform(lo + r, hi - r), 2), y=round(rng.uniform(lo + r, hi - r), 2))
            if all(math.hypot(o.x - p.x, o.y - p.y) >= _min_dist(cfg, o, p) for p in placed):
                placed.append(o)
                break
        else:
            return None
    objs = tuple(placed)
    if cfg.allow_overlap and min(visible_fractions(objs)) < cfg.min_visible:
        return None
    return objs


def _clutter(cfg: SceneConfig, rng: Rng) -> tuple[Stroke, ...]:
    w = cfg.image_size
    out = []
    for _ in range(cfg.clutter):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, w)
        length, angle = rng.uniform(0.05, 0.25) * w, rng.uniform(0, 2 * math.pi)
        out.append(
            Stroke(
                round(x0, 2),
                round(y0, 2),
                round(x0 + length * math.cos(angle), 2),
                round(y0 + length * math.sin(angle), 2),
                rng.randint(150, 215),
                round(rng.uniform(1.0, 2.5) * w / 336, 2),
            )
        )
    return tuple(out)


def sample_layout(cfg: SceneConfig, rng: Rng) -> Scene:
    """One scene's layout; raises InfeasibleLayout after LAYOUT_ATTEMPTS failed restarts."""
    for _ in range(LAYOUT_ATTEMPTS):
        n = rng.randint(*cfg.objects)
        objs = _place(cfg, rng, _attributes(cfg, rng, n))
        if objs is not None:
            return Scene(
                cfg.image_size,
                cfg.image_size,
                objs,
                cfg.margins,
                tuple(cfg.background),
                _clutter(cfg, rng),
                cfg.noise,
                rng.below(2**31),
            )
    raise InfeasibleLayout(
        f"could not place {cfg.objects[1]} objects on a {cfg.image_size} px canvas in {LAYOUT_ATTEMPTS} tries "
        f"({cfg.min_separation_px:.0f} px apart, sizes up to {max(cfg.sizes.values()):.0f} px); lower 'objects', "
        "'sizes' or 'min_separation_px', or raise 'image_size'"
    )
