"""Resolving a scene config, whatever its domain: the named presets shipped as data, YAML/JSON loading,
overrides, and which families a config asks. A config holds every knob that changes what a scene looks like
or what is asked about it; each domain declares its own (flat/config.py: pixels, world/config.py: world
units) on the shared rules of domain_config.py."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, SerializeAsAny, ValidationError

from spatialgen.errors import SpatialgenError

from .domain_config import CONFIGS, DomainConfig
from .domains import load_plugins
from .errors import ConfigError
from .families import COMPOSITIONAL as CHAINS
from .families import min_objects
from .flat.config import SceneConfig
from .world.config import Scene3DConfig

BUILT_IN = (SceneConfig, Scene3DConfig)  # registered in CONFIGS by being defined; plug-ins' by importing them

# Compositional families (scenes/families/compositional.py): asked only with hops >= 1.
CHAIN_FAMILIES: tuple[str, ...] = CHAINS

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
        needs_overlap = fam in ("overlap", "occlusion") and cfg.never_overlaps()
        if cfg.objects[1] < min_objects(fam) or needs_overlap:
            out.append(fam)
    return out


def configs() -> dict[str, type[DomainConfig]]:
    """Every domain's config class by its scenes' kind: the built-ins, then the plug-ins'."""
    load_plugins()
    return CONFIGS


def config_class(data: dict[str, Any]) -> type[DomainConfig]:
    """The config class a config mapping belongs to, by its ``kind`` (none: the default domain's, flat 2D)."""
    known = configs()
    kind = data.get("kind")
    if kind is None:
        return next(c for c in known.values() if c.default_domain)
    if kind not in known:
        raise ValueError(f"unknown scene kind '{kind}'; kinds: {', '.join(known)}")
    return known[kind]


def config_of(data: Any) -> Any:
    """A config mapping validated as its domain's config; an instance passes as it is."""
    return config_class(data).model_validate(data) if isinstance(data, dict) else data


# A field holding any domain's config (a preset's, a run's): validated as the class its ``kind`` names, and
# written with all of that class's fields.
AnyConfig = Annotated[SerializeAsAny[DomainConfig], BeforeValidator(config_of)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Preset(_Strict):
    """A named config with a one-line description, shipped as YAML in scenes/presets."""

    name: str
    level: int
    description: str
    config: AnyConfig

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
    """Preset name -> its YAML file: the shipped ones (scenes/presets), then each domain plug-in's own."""
    roots = [resources.files("spatialgen.scenes") / "presets"]
    roots += [c.presets for c in configs().values() if c.presets is not None]
    files: dict[str, Any] = {}
    for root in roots:
        for f in sorted(root.iterdir(), key=lambda f: f.name):
            name = f.name.removesuffix(".yaml")
            if f.name.endswith(".yaml") and files.setdefault(name, f) is not f:
                raise ConfigError(f"two presets named '{name}' ({files[name]} and {f})")
    return files


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
    """Parse a YAML or JSON file into a mapping, with one-line errors; bounded as every untrusted file
    (spatialgen/untrusted.py: nesting, values, digits)."""
    from spatialgen.untrusted import parse_json, parse_yaml, read_text, shown

    try:
        text = read_text(path, "config")
        data = (parse_json if path.suffix == ".json" else parse_yaml)(text, f"config {path}")
    except SpatialgenError as e:
        raise ConfigError(str(e)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config {shown(path)} must hold a mapping of fields, not {type(data).__name__}")
    return data


def resolve_config(
    preset: str = DEFAULT_PRESET, config_file: Path | None = None, overrides: dict[str, Any] | None = None
) -> DomainConfig:
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
