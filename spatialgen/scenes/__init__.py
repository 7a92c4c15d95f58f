"""The scene engine: configs, layouts, relations and question programs. Pure data, no rendering or I/O."""

from .config import DEFAULT_PRESET, FAMILIES, Margins, SceneConfig, load_preset, preset_names, resolve_config
from .example import SceneExample, View, make_example
from .families import execute
from .model import Obj, Scene
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
