"""The flat 2D domain's scene config: every knob of a scene of colored shapes, in pixels at ``image_size``;
``at_image_size`` rescales them all together, so a preset keeps its difficulty at another resolution. The
rules every domain's config shares are in scenes/domain_config.py."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from ..domain_config import DomainConfig, default_weights
from ..families import DECLARED
from ..families.compositional import MAX_HOPS
from ..vocab import COLORS, SHAPES, SIZES, ColorName, ShapeName, SizeName
from .scene import Margins

# Every 2D question family, in the order the draw walks them (the order is part of the seed's meaning).
FAMILIES: tuple[str, ...] = (
    "left_right",
    "above_below",
    "near_far",
    "size",
    "overlap",
    "occlusion",
    "closer",
    *DECLARED,  # extreme, count, exist, attribute, the compositional ones: scenes/families/
)
Family = Literal[FAMILIES]  # type: ignore[valid-type]


class SceneConfig(DomainConfig):
    """Everything that decides a scene and its questions. Field names are the difficulty knobs."""

    backend: ClassVar[str] = "2d"
    scene_kind: ClassVar[str] = "2d"
    default_domain: ClassVar[bool] = True
    knobs: ClassVar[dict[str, tuple[str, ...]]] = {
        "margin": ("margins", "margin_px"),
        "distractors": ("distractor_share",),
        "size": ("size_scale",),
        "clutter": ("clutter",),
        "noise": ("noise",),
        "overlap": ("allow_overlap",),
        "hops": ("hops",),
        "strict": ("margins", "strict"),
    }
    family_order: ClassVar[tuple[str, ...]] = FAMILIES
    max_objects: ClassVar[int] = 64

    image_size: int = Field(336, ge=32, le=4096)
    objects: tuple[int, int] = Field((3, 6), description="object count range, both ends included")
    shapes: tuple[ShapeName, ...] = SHAPES  # type: ignore[assignment]
    colors: tuple[ColorName, ...] = tuple(COLORS)  # type: ignore[assignment]
    sizes: dict[SizeName, float] = Field(
        default_factory=lambda: {"small": 22.0, "medium": 32.0, "large": 46.0},
        description="side in px of the square with the object's area, per size class",
    )
    size_jitter: float = Field(0.06, ge=0, lt=0.2)
    size_scale: float = Field(1.0, gt=0, description="multiplies every size class: the object size knob")
    rotation_deg: float = Field(0.0, ge=0, le=180)
    shape_rotation_max: dict[ShapeName, float] = Field(
        default_factory=lambda: {"square": 15.0, "diamond": 15.0},
        description="per shape, the most it turns (a square turned 30 degrees reads as a diamond); strict only",
    )
    outline_prob: float = Field(0.0, ge=0, le=1)
    texture_prob: float = Field(0.0, ge=0, le=1)
    canvas_margin_px: float = Field(6.0, ge=0)
    min_separation_px: float = Field(
        8.0, ge=-1000, le=1000, description="gap between bounding circles (no-overlap layouts)"
    )
    allow_overlap: bool = False
    min_visible: float = Field(0.6, gt=0, le=1, description="with overlap: share of each object left visible")
    margins: Margins = Margins()
    distractor_share: float = Field(0.0, ge=0, le=1, description="chance an object copies a shape or color")
    clutter: int = Field(0, ge=0, le=500, description="background strokes")
    noise: float = Field(0.0, ge=0, le=128, description="uniform pixel noise amplitude")
    background: tuple[int, int, int] = (240, 240, 240)
    families: dict[Family, float] = Field(
        default_factory=lambda: default_weights(FAMILIES, ("left_right", "above_below"), ("overlap", "occlusion"))
    )
    hops: int = Field(0, ge=0, le=MAX_HOPS, description="relate steps in a compositional question; 0: none asked")
    questions_per_scene: int = Field(6, ge=1, le=64)
    antialias: int = Field(2, ge=1, le=4, description="supersampling factor")

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("needs at least one size class")
        for name, px in v.items():
            if px <= 0:
                raise ValueError(f"size '{name}' must be positive, got {px}")
        return dict(sorted(v.items(), key=lambda kv: SIZES.index(kv[0])))

    @field_validator("shape_rotation_max")
    @classmethod
    def _turns(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: d for k, d in v.items() if not 0 <= d <= 180}
        if bad:
            raise ValueError(f"rotations must be within 0..180 degrees, got {bad}")
        return v

    @field_validator("shapes", "colors")
    @classmethod
    def _nonempty(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("must not be empty")
        if len(set(v)) != len(v):
            raise ValueError("has duplicates")
        return v

    @field_validator("background")
    @classmethod
    def _rgb(cls, v: tuple[int, int, int]) -> tuple[int, int, int]:
        if any(not 0 <= c <= 255 for c in v):
            raise ValueError("RGB values must be within 0..255")
        return v

    def never_overlaps(self) -> bool:
        return not self.allow_overlap

    def perceptual_rules(self) -> bool:
        return self.margins.strict

    def at_image_size(self, size: int) -> SceneConfig:
        """The same scene design at another resolution: every pixel quantity scales together."""
        if size == self.image_size:
            return self
        k = size / self.image_size
        m = self.margins
        data = self.model_dump()
        data.update(
            image_size=size,
            sizes={name: px * k for name, px in self.sizes.items()},
            canvas_margin_px=self.canvas_margin_px * k,
            min_separation_px=self.min_separation_px * k,
            margins=m.model_copy(
                update=dict(
                    margin_px=m.margin_px * k,
                    near_px=m.near_px * k,
                    far_px=m.far_px * k,
                    touch_gap_px=m.touch_gap_px * k,
                )
            ).model_dump(),
        )
        return SceneConfig.model_validate(data)
