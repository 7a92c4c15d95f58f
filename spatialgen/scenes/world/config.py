"""3D scene configs. ``kind: 3d`` marks them, so a config file or manifest is never ambiguous with 2D."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..domain_config import DomainConfig, default_weights
from ..families import DECLARED, FLAT_ONLY
from ..families.compositional import MAX_HOPS
from ..vocab import COLORS, ColorName, SizeName
from .scene import MATERIALS, SHAPES3D, Margins3D

Shape3D = Literal["cube", "sphere", "cylinder", "cone", "torus"]
Material = Literal["rubber", "metal"]
FAMILIES_3D: tuple[str, ...] = (
    "left_right",
    "front_behind",
    "on_top",
    "near_far",
    "size",
    "camera_distance",
    *(f for f in DECLARED if f not in FLAT_ONLY),  # scenes/families/; "between" is flat only
)
Family3D = Literal[FAMILIES_3D]  # type: ignore[valid-type]


class RenderSettings(BaseModel):
    """Blender settings; part of the config because they change the pixels."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    engine: Literal["cycles", "eevee", "workbench"] = "cycles"
    samples: int = Field(32, ge=1, le=4096)
    denoise: bool = True
    device: Literal["cpu", "gpu"] = "cpu"
    depth: bool = Field(False, description="also store a depth map (16-bit PNG, millimeters of camera z-depth)")


class Scene3DConfig(DomainConfig):
    """A 3D scene and its questions; world units (the ground is z = 0), drawn by Blender."""

    family_order: ClassVar[tuple[str, ...]] = FAMILIES_3D
    backend: ClassVar[str] = "3d"
    scene_kind: ClassVar[str] = "3d"
    knobs: ClassVar[dict[str, tuple[str, ...]]] = {"margin": ("margins", "margin"), "hops": ("hops",)}
    max_objects: ClassVar[int] = 40

    kind: Literal["3d"]
    width: int = Field(320, ge=16, le=4096)
    height: int = Field(240, ge=16, le=4096)
    objects: tuple[int, int] = (3, 10)
    shapes: tuple[Shape3D, ...] = SHAPES3D  # type: ignore[assignment]
    colors: tuple[ColorName, ...] = tuple(COLORS)  # type: ignore[assignment]
    materials: tuple[Material, ...] = MATERIALS  # type: ignore[assignment]
    sizes: dict[SizeName, float] = Field(default_factory=lambda: {"small": 0.35, "medium": 0.5, "large": 0.7})
    size_jitter: float = Field(0.05, ge=0, lt=0.2)
    stack_prob: float = Field(0.15, ge=0, le=1, description="chance an object rests on a cube or cylinder")
    area: float = Field(3.0, gt=0, description="objects stand within |x|, |y| <= area")
    min_separation: float = Field(0.2, ge=0)
    camera_jitter: float = Field(0.5, ge=0)
    light_jitter: float = Field(1.0, ge=0)
    min_visible: float = Field(0.35, gt=0, le=1, description="visible share of each object's silhouette")
    min_visible_px: int = Field(30, ge=1)
    margins: Margins3D = Margins3D()
    families: dict[Family3D, float] = Field(
        default_factory=lambda: default_weights(FAMILIES_3D, ("left_right", "front_behind"))
    )
    hops: int = Field(0, ge=0, le=MAX_HOPS, description="relate steps in a compositional question; 0: none asked")
    questions_per_scene: int = Field(6, ge=1, le=64)
    render: RenderSettings = RenderSettings()

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or any(r <= 0 for r in v.values()):
            raise ValueError("sizes must be positive")
        return v

    @property
    def image_size(self) -> int:
        return self.width

    def at_image_size(self, size: int) -> Scene3DConfig:
        return self.model_copy(update={"width": size, "height": max(16, round(size * self.height / self.width))})
