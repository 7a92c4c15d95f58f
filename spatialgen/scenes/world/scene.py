"""3D scenes as plain data: objects on a ground plane, a camera, lights. No bpy here.

World units, z up; the ground is z = 0. The camera frame is Blender's: x right, y up, looking along -z;
``depth`` is the distance along the viewing direction. Objects are primitives sized by ``r``: cube
half-edge, sphere/cylinder/cone radius (cylinder and cone 2r tall), torus outer radius (0.7r tall).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cache, cached_property
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

SHAPES3D = ("cube", "sphere", "cylinder", "cone", "torus")
MATERIALS = ("rubber", "metal")
FLAT_TOPS = ("cube", "cylinder")  # what can carry another object


class Margins3D(BaseModel):
    """Ambiguity margins in world units (size_ratio: volume ratio)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    margin: float = Field(0.3, gt=0, description="left/right, in front/behind: camera-frame gap")
    near: float = Field(1.6, gt=0, description="centers at most this far apart are near")
    far: float = Field(3.0, gt=0, description="centers at least this far apart are far")
    camera_margin: float = Field(0.3, gt=0, description="closer to the camera: distance gap")
    size_ratio: float = Field(1.5, gt=1)


def half_height(shape: str, r: float) -> float:
    """Half a shape's height for a radius (where its center sits above what it rests on)."""
    return 0.35 * r if shape == "torus" else r


def footprint(shape: str, r: float) -> float:
    """Radius of the object's footprint circle (placement and separation)."""
    return r * math.sqrt(2) if shape == "cube" else r


def volume(shape: str, r: float) -> float:
    """A shape's volume for a radius (what bigger/smaller compare)."""
    return {
        "cube": 8.0,
        "sphere": 4 / 3 * math.pi,
        "cylinder": 2 * math.pi,
        "cone": 2 / 3 * math.pi,
        "torus": 2 * math.pi**2 * 0.65 * 0.35**2,
    }[shape] * r**3


@dataclass(frozen=True, slots=True)
class Obj3D:
    id: int
    shape: str
    color: str
    material: str
    size: str
    r: float
    x: float
    y: float
    z: float  # center height
    yaw: float = 0.0  # degrees about z
    on: int = -1  # id of the object this one rests on, -1 for the ground

    @property
    def volume(self) -> float:
        return volume(self.shape, self.r)


@dataclass(frozen=True)
class Camera:
    location: tuple[float, float, float]
    look_at: tuple[float, float, float]
    width: int
    height: int
    lens: float = 35.0  # mm
    sensor: float = 36.0  # mm, fitted to the wider side

    @cached_property
    def axes(self) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
        """(right, up, forward) unit vectors in world coordinates."""
        f = _norm(_sub(self.look_at, self.location))
        r = _norm(_cross(f, (0.0, 0.0, 1.0)))
        return r, _cross(r, f), f

    @cached_property
    def ground_forward(self) -> tuple[float, float]:
        """The view direction projected onto the ground plane (z = 0), a unit vector: front/behind's axis."""
        f = self.axes[2]
        n = math.hypot(f[0], f[1])
        if n == 0:
            raise ValueError("a camera looking straight down has no front or behind")
        return f[0] / n, f[1] / n

    @property
    def focal_px(self) -> float:
        return self.lens / self.sensor * max(self.width, self.height)

    def to_camera(self, p: tuple[float, float, float]) -> tuple[float, float, float]:
        """(x right, y up, depth along the view) of a world point."""
        d = _sub(p, self.location)
        r, u, f = self.axes
        return _dot(d, r), _dot(d, u), _dot(d, f)

    def project(self, p: tuple[float, float, float]) -> tuple[float, float, float]:
        """Pixel (u right, v down) and depth."""
        x, y, d = self.to_camera(p)
        k = self.focal_px
        return self.width / 2 + k * x / d, self.height / 2 - k * y / d, d

    def intrinsics(self) -> list[list[float]]:
        k = self.focal_px
        return [[k, 0.0, self.width / 2], [0.0, k, self.height / 2], [0.0, 0.0, 1.0]]

    def world_to_camera(self) -> list[list[float]]:
        """4x4, Blender/OpenGL camera axes (x right, y up, z backward)."""
        r, u, f = self.axes
        b = (-f[0], -f[1], -f[2])
        rows = [r, u, b]
        return [[*row, -_dot(row, self.location)] for row in rows] + [[0.0, 0.0, 0.0, 1.0]]

    def camera_to_world(self) -> list[list[float]]:
        r, u, f = self.axes
        b = (-f[0], -f[1], -f[2])
        return [[r[i], u[i], b[i], self.location[i]] for i in range(3)] + [[0.0, 0.0, 0.0, 1.0]]


@dataclass(frozen=True, slots=True)
class Light:
    location: tuple[float, float, float]
    energy: float
    size: float = 2.0


@dataclass(frozen=True)
class Scene3D:
    kind: ClassVar[str] = "3d"  # its domain (scenes/domains.py)
    objects: tuple[Obj3D, ...]
    camera: Camera
    lights: tuple[Light, ...]
    margins: Margins3D

    @cached_property
    def by_id(self) -> dict[int, Obj3D]:
        return {o.id: o for o in self.objects}

    @cached_property
    def cam(self) -> dict[int, tuple[float, float, float]]:
        """Camera-frame coordinates of every object's center."""
        return {o.id: self.camera.to_camera((o.x, o.y, o.z)) for o in self.objects}

    def to_dict(self) -> dict[str, Any]:
        c = self.camera
        return {
            "objects": [asdict(o) for o in self.objects],
            "camera": {
                "location": list(c.location),
                "look_at": list(c.look_at),
                "width": c.width,
                "height": c.height,
                "lens": c.lens,
                "sensor": c.sensor,
            },
            "lights": [{"location": list(li.location), "energy": li.energy, "size": li.size} for li in self.lights],
            "margins": self.margins.model_dump(),
        }

    def with_positions(self, moves: dict[int, tuple[float, float]]) -> Scene3D:
        objs = tuple(
            Obj3D(**{**asdict(o), "x": moves[o.id][0], "y": moves[o.id][1]}) if o.id in moves else o
            for o in self.objects
        )
        return Scene3D(objs, self.camera, self.lights, self.margins)


@cache
def _unit_points(shape: str) -> tuple[tuple[float, float, float], ...]:
    """Points on the unit-r primitive's surface (centered), for silhouettes."""
    ring = [(math.cos(2 * math.pi * k / 32), math.sin(2 * math.pi * k / 32)) for k in range(32)]
    if shape == "cube":
        return tuple((sx, sy, sz) for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1))
    if shape == "sphere":
        n = 300
        pts = []
        for i in range(n):
            z = 1 - 2 * (i + 0.5) / n
            rho, th = math.sqrt(1 - z * z), math.pi * (3 - math.sqrt(5)) * i
            pts.append((rho * math.cos(th), rho * math.sin(th), z))
        return tuple(pts)
    if shape == "cylinder":
        return tuple((x, y, z) for x, y in ring for z in (-1, 1))
    if shape == "cone":
        return (*((x, y, -1.0) for x, y in ring), (0.0, 0.0, 1.0))
    return tuple(
        (x * (0.65 + 0.35 * math.cos(a)), y * (0.65 + 0.35 * math.cos(a)), 0.35 * math.sin(a))
        for x, y in ring
        for a in (2 * math.pi * j / 12 for j in range(12))
    )


def silhouette_area(o: Obj3D, cam: Camera) -> float:
    """Pixel area of the object's projected convex hull, clipped to the image: its unoccluded size."""
    from shapely import MultiPoint, box

    c, s = math.cos(math.radians(o.yaw)), math.sin(math.radians(o.yaw))
    pts = []
    for u, v, w in _unit_points(o.shape):
        p = (o.x + o.r * (u * c - v * s), o.y + o.r * (u * s + v * c), o.z + o.r * w)
        px, py, d = cam.project(p)
        if d <= 0:
            return 0.0
        pts.append((px, py))
    return MultiPoint(pts).convex_hull.intersection(box(0, 0, cam.width, cam.height)).area


def _sub(a, b):
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _norm(a):
    n = math.sqrt(_dot(a, a))
    return (a[0] / n, a[1] / n, a[2] / n)
