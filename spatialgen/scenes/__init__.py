"""The scene engine: configs, layouts, relations and question programs. Pure data, no rendering or I/O.

Each domain is one package that owns its config, scene, layout, relations, description and drafting: flat 2D
shapes in pixels (``flat/``) and a 3D world in world units (``world/``); what they share (config rules,
relations' record and margins, question families and programs, the drafting loop) lives beside them."""

from .config import DEFAULT_PRESET, load_preset, preset_names, resolve_config
from .example import SceneExample, View
from .families import execute
from .flat.config import FAMILIES, Margins, SceneConfig
from .flat.example import make_example
from .flat.scene import Obj, Scene
from .programs import Program
from .questions import Question

__all__ = [
    "DEFAULT_PRESET",
    "FAMILIES",
    "Margins",
    "Obj",
    "Program",
    "Question",
    "Scene",
    "SceneConfig",
    "SceneExample",
    "View",
    "execute",
    "load_preset",
    "make_example",
    "preset_names",
    "resolve_config",
]
