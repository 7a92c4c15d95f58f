"""The scene graph: plain, frozen data with no rendering and no I/O (Kubric's "a scene is data").

Coordinates are image pixels, x to the right and y downward. An object's geometry is a pure function of
its fields, so the stored scene alone re-derives every answer and re-renders every pixel.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..vocab import COLORS, unit_polygon, unit_radius


class Margins(BaseModel):
    """Ambiguity margins: a pair closer to a relation's boundary than these is never asked about. Part of
    the scene (every answer re-derives from the stored scene alone) and set by its config."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    margin_px: float = Field(16.0, gt=0, description="positional relations: min |dx|, |dy| or distance gap")
    near_px: float = Field(90.0, gt=0, description="centers at most this far apart are near")
    far_px: float = Field(170.0, gt=0, description="centers at least this far apart are far")
    size_ratio: float = Field(1.5, gt=1, description="bigger/smaller needs this area ratio")
    distance_ratio: float = Field(
        1.2,
        ge=1,
        description="closer/farther: the farther distance at least this times the nearer (a Weber fraction, "
        "on top of margin_px: what the eye resolves is relative; 1 turns it off)",
    )
    overlap_min_frac: float = Field(0.05, gt=0, le=1, description="overlap needs this share of the smaller area")
    touch_gap_px: float = Field(4.0, gt=0, description="'not overlapping' needs at least this gap")
    occlusion_min_frac: float = Field(
        0.1, gt=0, le=1, description="in front of / behind: the overlap covers at least this share of the smaller"
    )
    # Perceptual rules: what a person would call a tie (README, "Perceptual rules"). strict: false turns all
    # of them off and leaves the centre-and-edge margins above, for studies of the threshold itself.
    strict: bool = Field(True, description="apply the perceptual rules below")
    axis_overlap_max: float = Field(
        0.5, ge=0, le=1, description="left/right, above/below: extents may share at most this of the narrower one"
    )
    visible_geometry: bool = Field(True, description="judge relations on each object's visible part")
    separable_counts: bool = Field(True, description="count/exist only if no counted object touches its colour")

    @model_validator(mode="after")
    def _near_below_far(self) -> Margins:
        if self.near_px >= self.far_px:
            raise ValueError(f"near_px ({self.near_px}) must be below far_px ({self.far_px})")
        return self


# An object's outline is asked for by the layout's overlap checks, most relations, the drawing and its row:
# computed once per placement (a pure function of these five fields) rather than each time. A scene's
# objects are asked for within its own drafting, so the cache need only hold a few scenes' worth.
@lru_cache(maxsize=512)
def _outline(shape: str, x: float, y: float, scale: float, rotation: float) -> tuple[tuple[float, float], ...]:
    c, s = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
    return tuple((x + scale * (u * c - v * s), y + scale * (u * s + v * c)) for u, v in unit_polygon(shape))


@lru_cache(maxsize=512)
def _box(shape: str, x: float, y: float, scale: float, rotation: float) -> tuple[float, float, float, float]:
    pts = _outline(shape, x, y, scale, rotation)
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return (min(xs), min(ys), max(xs), max(ys))


@dataclass(frozen=True, slots=True)
class Obj:
    id: int
    shape: str
    color: str
    size: str  # size class name: small, medium, large
    scale: float  # side in px of the square of equal area, so area == scale**2
    x: float
    y: float
    rotation: float = 0.0  # degrees, clockwise on screen
    outline: bool = False
    texture: str = "solid"  # solid | striped

    @property
    def rgb(self) -> tuple[int, int, int]:
        return COLORS[self.color]

    @property
    def area(self) -> float:
        return self.scale * self.scale

    @property
    def radius(self) -> float:
        """Radius of the bounding circle around the center."""
        return self.scale * unit_radius(self.shape)

    def polygon(self) -> tuple[tuple[float, float], ...]:
        """Outline vertices in pixels: what is drawn, and what overlap is computed on."""
        return _outline(self.shape, self.x, self.y, self.scale, self.rotation)

    def bbox(self) -> tuple[float, float, float, float]:
        return _box(self.shape, self.x, self.y, self.scale, self.rotation)


@dataclass(frozen=True, slots=True)
class Stroke:
    """A background clutter line, drawn under the objects."""

    x0: float
    y0: float
    x1: float
    y1: float
    gray: int
    width: float


@dataclass(frozen=True)
class Scene:
    kind: ClassVar[str] = "2d"  # its domain (scenes/domains.py)
    width: int
    height: int
    objects: tuple[Obj, ...]
    margins: Margins
    background: tuple[int, int, int] = (240, 240, 240)
    clutter: tuple[Stroke, ...] = ()
    noise: float = 0.0
    noise_seed: int = 0

    @cached_property
    def by_id(self) -> dict[int, Obj]:
        return {o.id: o for o in self.objects}

    @cached_property
    def visible(self) -> dict:
        """Object id -> the visible part (``geometry.Visible``) of each object a later one covers."""
        from .geometry import visible_parts

        return visible_parts(self.objects)

    def with_positions(self, moves: dict[int, tuple[float, float]]) -> Scene:
        """A copy in which the named objects sit at new centers (used for twins)."""
        objs = tuple(
            Obj(**{**asdict(o), "x": moves[o.id][0], "y": moves[o.id][1]}) if o.id in moves else o for o in self.objects
        )
        return Scene(
            self.width, self.height, objs, self.margins, self.background, self.clutter, self.noise, self.noise_seed
        )
