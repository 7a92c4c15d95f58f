"""Scene configs: pydantic models, YAML/JSON loading, and the named presets shipped as data.

A config holds every knob that changes what a scene looks like or what is asked about it. Pixel
quantities are at ``image_size``; ``at_image_size`` rescales them all together, so a preset keeps its
difficulty at another resolution.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .config3d import Scene3DConfig
from .domain_config import DomainConfig, default_weights
from .errors import ConfigError
from .families import COMPOSITIONAL as CHAINS
from .families import DECLARED, min_objects
from .families.compositional import MAX_HOPS
from .model import Margins
from .vocab import COLORS, SHAPES, SIZES, ColorName, ShapeName, SizeName

# Compositional families (scenes/families/compositional.py): asked only with hops >= 1.
CHAIN_FAMILIES: tuple[str, ...] = CHAINS
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

DEFAULT_PRESET = "medium"


def active_families(cfg: DomainConfig) -> dict[str, float]:
    """The families a config asks, with their weights, in the draw's order: positive weight, and for the
    compositional ones hops >= 1 (at 0 they are off, and the draw is what it was without them)."""
    return {
        f: cfg.families[f]
        for f in cfg.family_order
        if cfg.families.get(f, 0) > 0 and (f not in CHAIN_FAMILIES or cfg.hops >= 1)
    }


def unaskable_families(cfg: DomainConfig) -> list[str]:
    """Families with weight that no scene of ``cfg`` can ask: too few objects, or overlap without overlaps.
    Their slots go to other families, so the realized mix is not the configured one."""
    out = []
    for fam, weight in cfg.families.items():
        if weight <= 0 or (fam in CHAIN_FAMILIES and cfg.hops < 1):  # off, not unaskable
            continue
        needs_overlap = fam in ("overlap", "occlusion") and not getattr(cfg, "allow_overlap", True)
        if cfg.objects[1] < min_objects(fam) or needs_overlap:
            out.append(fam)
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SceneConfig(DomainConfig):
    """Everything that decides a scene and its questions. Field names are the difficulty knobs."""

    backend: ClassVar[str] = "2d"
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
    min_separation_px: float = Field(8.0, description="gap between bounding circles (no-overlap layouts)")
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


class Preset(_Strict):
    """A named config with a one-line description, shipped as YAML in scenes/presets."""

    name: str
    level: int
    description: str
    config: SceneConfig | Scene3DConfig

    @property
    def backend(self) -> str:
        return self.config.backend


def format_validation_error(err: ValidationError, where: str) -> str:
    """One line naming the first offending field, for the CLI."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(root)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    more = len(err.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{where}: {loc}: {msg}{tail}"


def _preset_files() -> dict[str, Any]:
    root = resources.files("spatialgen.scenes") / "presets"
    return {p.name.removesuffix(".yaml"): p for p in root.iterdir() if p.name.endswith(".yaml")}


def preset_names() -> list[str]:
    """The shipped presets, by name."""
    return sorted(_preset_files(), key=lambda n: (load_preset(n).backend, load_preset(n).level))


def load_preset(name: str) -> Preset:
    """A shipped preset (level, description, config); an unknown name is one ConfigError listing them."""
    files = _preset_files()
    if name not in files:
        raise ConfigError(f"unknown preset '{name}'; choose one of: {', '.join(sorted(files))}")
    data = yaml.safe_load(files[name].read_text())
    return Preset.model_validate({"name": name, **data})


def read_mapping(path: Path) -> dict[str, Any]:
    """Parse a YAML or JSON file into a mapping, with one-line errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config {path} is not UTF-8 text") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        line = getattr(e, "lineno", None) if line is None else line + 1
        at = f" at line {line}" if line else ""
        raise ConfigError(f"config {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}{at}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must hold a mapping of fields, not {type(data).__name__}")
    return data


def resolve_config(
    preset: str = DEFAULT_PRESET, config_file: Path | None = None, overrides: dict[str, Any] | None = None
) -> SceneConfig | Scene3DConfig:
    """Preset, then the fields of a config file on top, then command-line overrides."""
    base = load_preset(preset).config
    cls = type(base)
    data = base.model_dump()
    where = f"preset '{preset}'"
    if config_file is not None:
        extra = read_mapping(config_file)
        if "margins" in extra and isinstance(extra["margins"], dict):
            extra["margins"] = {**data["margins"], **extra["margins"]}
        data.update(extra)
        where = f"config {config_file}"
    try:
        cfg = cls.model_validate(data)
        if overrides and overrides.get("render") and "render" in type(cfg).model_fields:
            render = {**cfg.render.model_dump(), **{k: v for k, v in overrides["render"].items() if v is not None}}
            cfg = cls.model_validate({**cfg.model_dump(), "render": render})
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, where)) from None
    if overrides and overrides.get("image_size"):
        cfg = cfg.at_image_size(int(overrides["image_size"]))
    return cfg
