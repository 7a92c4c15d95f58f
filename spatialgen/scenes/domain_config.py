"""What every domain's scene config shares (flat/config.py in pixels, world/config.py in world units): strict frozen
pydantic, the object-count and family-weight checks, and the digest that seeds and manifests key on.

The fields stay with each domain (pixels and world units do not share a meaning); only the rules do."""

from __future__ import annotations

import hashlib
import json
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, field_validator


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
