"""The scene engine: configs, layouts, relations and question programs. Pure data, no rendering or I/O."""

from .config import DEFAULT_PRESET, FAMILIES, Margins, SceneConfig, load_preset, preset_names, resolve_config
from .example import Example, View, make_example
from .families import execute
from .model import Obj, Scene
from .programs import Program
from .questions import Question

__all__ = [
    "DEFAULT_PRESET",
    "FAMILIES",
    "Example",
    "Margins",
    "Obj",
    "Program",
    "Question",
    "Scene",
    "SceneConfig",
    "View",
    "execute",
    "load_preset",
    "make_example",
    "preset_names",
    "resolve_config",
]
