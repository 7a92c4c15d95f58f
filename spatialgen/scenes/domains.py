"""The scene domains by name, as plug-ins: a scene's ``kind`` ("2d", "3d", ...) picks the Domain
(scenes/domain.py) its questions are drawn and answered with.

A domain is one package: its ``Domain`` registered here under its scenes' kind (``register``), its config a
``DomainConfig`` subclass naming the same ``scene_kind`` (registered by being defined: its knobs, presets and
card wording are its own, scenes/domain_config.py), its renderer a ``Backend`` registered with
``generator.backends.register_backend``. The built-in flat 2D (``flat/``) and 3D world (``world/``)
domains register this way; others are imported, once, on first lookup, from the
entry-point group ``spatialgen.domains`` of installed packages and from the module names in
``SPATIALGEN_DOMAINS`` (comma-separated). So a new domain is one new folder and touches no shared file
(tests/test_domain_plugin.py adds one).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from .domain import Domain
from .errors import ConfigError
from .flat.relations import DOMAIN_2D
from .flat.scene import Scene
from .world.relations import DOMAIN_3D
from .world.scene import Scene3D

ENTRY_POINTS = "spatialgen.domains"
ENV = "SPATIALGEN_DOMAINS"

_DOMAINS: dict[str, Domain] = {}
_loaded: list[bool] = []


def register(kind: str, domain: Domain) -> None:
    """Make a domain known under its scenes' ``kind`` (a second domain of the same kind is a mistake)."""
    if _DOMAINS.get(kind, domain) is not domain:
        raise ConfigError(f"two scene domains of kind '{kind}'")
    _DOMAINS[kind] = domain


register(Scene.kind, DOMAIN_2D)
register(Scene3D.kind, DOMAIN_3D)


def load_plugins() -> None:
    """Import the installed and named domain plug-ins, once (each registers itself on import)."""
    if _loaded:
        return
    _loaded.append(True)
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINTS):
        ep.load()
    for name in filter(None, (n.strip() for n in os.environ.get(ENV, "").split(","))):
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise ConfigError(f"{ENV}: cannot import the domain plug-in '{name}' ({e})") from None


def kinds() -> dict[str, Domain]:
    """Every domain by its scenes' kind: the built-ins, then the plug-ins."""
    load_plugins()
    return _DOMAINS


def domain_of(scene: Any) -> Domain:
    """The Domain a scene's questions are drawn and answered with."""
    return kinds()[scene.kind]


def domains() -> list[Domain]:
    """Every domain's Domain (relations, wordings), e.g. to read every inverse wording."""
    return list(kinds().values())
