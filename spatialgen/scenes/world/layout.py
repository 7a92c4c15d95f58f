"""Sampling 3D layouts: objects on the ground (or resting on a cube or cylinder), a jittered camera and
lights. Bounded retries end in a clear error, never a loop."""

from __future__ import annotations

import math

from ..errors import InfeasibleLayout
from ..rng import Rng
from .config import Scene3DConfig
from .scene import FLAT_TOPS, Camera, Light, Obj3D, Scene3D, footprint, half_height

PLACE_TRIES = 200
LAYOUT_ATTEMPTS = 40
CAMERA = (0.0, -9.5, 6.5)
TARGET = (0.0, 0.0, 0.4)
LIGHTS = (((4.0, -4.0, 6.0), 400.0), ((-5.0, -3.0, 4.0), 150.0), ((0.0, 5.0, 5.0), 200.0))


def separated(cfg: Scene3DConfig, objs: list[Obj3D] | tuple[Obj3D, ...]) -> bool:
    """Whether every pair of ground objects keeps the configured gap."""
    ground = [o for o in objs if o.on < 0]
    for k, a in enumerate(ground):
        for b in ground[:k]:
            if (
                math.hypot(a.x - b.x, a.y - b.y)
                < footprint(a.shape, a.r) + footprint(b.shape, b.r) + cfg.min_separation
            ):
                return False
    return True


def _objects(cfg: Scene3DConfig, rng: Rng) -> list[Obj3D] | None:
    n = rng.randint(*cfg.objects)
    sizes = list(cfg.sizes)
    out: list[Obj3D] = []
    for k in range(n):
        shape, color, material = rng.choice(cfg.shapes), rng.choice(cfg.colors), rng.choice(cfg.materials)
        size = rng.choice(sizes)
        r = round(cfg.sizes[size] * (1 + cfg.size_jitter * rng.uniform(-1, 1)), 3)
        yaw = round(rng.uniform(0, 360), 2)
        if k and rng.coin(cfg.stack_prob):
            carriers = [
                o
                for o in out
                if o.on < 0
                and o.shape in FLAT_TOPS
                and o.r >= footprint(shape, r)
                and not any(p.on == o.id for p in out)
            ]
            if carriers:
                b = rng.choice(carriers)
                z = round(b.z + half_height(b.shape, b.r) + half_height(shape, r), 4)
                out.append(Obj3D(k, shape, color, material, size, r, b.x, b.y, z, yaw, b.id))
                continue
        reach = cfg.area - footprint(shape, r)
        if reach <= 0:
            return None
        for _ in range(PLACE_TRIES):
            o = Obj3D(
                k,
                shape,
                color,
                material,
                size,
                r,
                round(rng.uniform(-reach, reach), 3),
                round(rng.uniform(-reach, reach), 3),
                round(half_height(shape, r), 4),
                yaw,
            )
            if separated(cfg, [*out, o]):
                out.append(o)
                break
        else:
            return None
    return out


def _camera(cfg: Scene3DConfig, rng: Rng) -> Camera:
    j = cfg.camera_jitter
    loc = tuple(round(c + rng.uniform(-j, j), 3) for c in CAMERA)
    at = tuple(round(c + rng.uniform(-j, j) * 0.3, 3) for c in TARGET)
    return Camera(loc, at, cfg.width, cfg.height)  # type: ignore[arg-type]


def _lights(cfg: Scene3DConfig, rng: Rng) -> tuple[Light, ...]:
    j = cfg.light_jitter
    return tuple(Light(tuple(round(c + rng.uniform(-j, j), 3) for c in loc), e) for loc, e in LIGHTS)  # type: ignore


def in_view(scene: Scene3D) -> bool:
    """Whether every object projects inside the image."""
    cam = scene.camera
    for o in scene.objects:
        u, v, d = cam.project((o.x, o.y, o.z))
        if d <= 0 or not (0 <= u <= cam.width and 0 <= v <= cam.height):
            return False
    return True


def sample_layout3d(cfg: Scene3DConfig, rng: Rng) -> Scene3D:
    """A random 3D scene (objects, stacking, camera, lights) for the config; InfeasibleLayout if none fits."""
    for _ in range(LAYOUT_ATTEMPTS):
        objs = _objects(cfg, rng)
        if objs is None:
            continue
        scene = Scene3D(tuple(objs), _camera(cfg, rng), _lights(cfg, rng), cfg.margins)
        if in_view(scene):
            return scene
    raise InfeasibleLayout(
        f"could not place {cfg.objects[1]} objects within |x|, |y| <= {cfg.area:g} in {LAYOUT_ATTEMPTS} tries; "
        "lower 'objects' or 'sizes', or raise 'area'"
    )
