"""What every domain's scene config shares (flat/config.py in pixels, world/config.py in world units): strict frozen
pydantic, the object-count and family-weight checks, and the digest that seeds and manifests key on.

The fields stay with each domain (pixels and world units do not share a meaning); only the rules do."""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, field_validator

# Each domain's config class by its scenes' kind, filled as the classes are defined (``__init_subclass__``).
CONFIGS: dict[str, type[DomainConfig]] = {}


def default_weights(
    order: tuple[str, ...], double: tuple[str, ...], leave_out: tuple[str, ...] = ()
) -> dict[str, float]:
    """A domain's default family weights, in its draw order: 2 for its two main spatial families, 1 for the
    rest, none for those it leaves out by default (2D: overlap and occlusion need overlapping layouts)."""
    return {f: 2 if f in double else 1 for f in order if f not in leave_out}


class DomainConfig(BaseModel):
    """Base of a domain's config. ``backend`` names the renderer backend (generator/backends.py) that draws
    it, ``family_order`` the order the question draw walks its families (part of the seed's meaning)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    backend: ClassVar[str]
    family_order: ClassVar[tuple[str, ...]]
    max_objects: ClassVar[int]
    # The domain's own declarations, read by the shared code: its scenes' kind (a config file names it as
    # ``kind:``; the default domain's, flat 2D, may leave it out), the study knobs that set one of its fields
    # (knob -> the field's path), and a folder of its own preset YAML files (the built-ins' ship in
    # scenes/presets).
    scene_kind: ClassVar[str]
    default_domain: ClassVar[bool] = False
    knobs: ClassVar[dict[str, tuple[str, ...]]] = {}
    presets: ClassVar[Any] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("scene_kind")
        if kind is not None:
            if CONFIGS.get(kind, cls) is not cls:
                raise ValueError(f"two scene configs of kind '{kind}'")
            CONFIGS[kind] = cls

    @field_validator("objects", check_fields=False)
    @classmethod
    def _objects(cls, v: tuple[int, int]) -> tuple[int, int]:
        lo, hi = v
        if lo < 1 or hi < lo:
            raise ValueError(f"need 1 <= min <= max, got {list(v)}")
        if hi > cls.max_objects:
            raise ValueError(f"at most {cls.max_objects} objects, got {hi}")
        return v

    @field_validator("families", check_fields=False)
    @classmethod
    def _families(cls, v: dict[str, float]) -> dict[str, float]:
        if any(not 0 <= w <= 1e6 for w in v.values()):
            raise ValueError("weights must be >= 0 and at most 1e6")
        if not any(w > 0 for w in v.values()):
            raise ValueError("at least one family needs a positive weight")
        return v

    def never_overlaps(self) -> bool:
        """Whether no two objects of a scene ever overlap (then overlap and occlusion are never asked). A
        capability the config states, so no caller probes for a domain's fields."""
        return False

    def perceptual_rules(self) -> bool:
        """Whether its questions follow perceptual rules beyond the margins (what a person would call a tie)."""
        return False

    def digest(self) -> str:
        """A short, stable fingerprint of the config (seeds and manifests use it)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.blake2b(blob, digest_size=8).hexdigest()
