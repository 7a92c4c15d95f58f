"""A row's scene-graph columns, each declared once: its feature type, how it is written from the scene's
object, and how it is read back into that object's constructor. A backend's features, its rows and its
``scene_from_row`` all come from the same declaration (rows2d.OBJECT, rows3d.OBJECT_3D, CAMERA, LIGHT), so
they cannot drift apart; a column without a reader (``put`` None) is derived (a colour's RGB, a bounding box),
written for users and never read back.

Feature kinds are datasets' value types ("int32", "float64", "string", "bool"); ``[kind]`` is a list of them,
a tuple of Columns a struct. Key order is column order in the parquet shards, part of a run's bytes: keep
declarations in order. The settings columns (difficulty, render) are declared the same way, their getters
reading the scene and the run's config.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = {float: "float64", int: "int32", bool: "bool", str: "string"}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str | list  # "float64", or ["float64"]: a list of them
    get: Callable[..., Any]  # (object, *what the renderer observed of it) -> the stored value
    put: Callable[[Any], dict[str, Any]] | None = None  # stored value -> constructor keywords; None: derived


def attr(name: str, kind: str | list, convert: Callable[[Any], Any] = lambda v: v) -> Column:
    """A column that is one attribute of the object, stored as it is (a tuple as a list), ``convert`` applied
    when it is read back."""
    if isinstance(kind, list):
        return Column(name, kind, lambda o, *_: list(getattr(o, name)), lambda v: {name: convert(v)})
    return Column(name, kind, lambda o, *_: getattr(o, name), lambda v: {name: convert(v)})


def feature(kind: str | list) -> Any:
    """A column kind as a ``datasets`` feature (imported lazily: datasets is slow to import)."""
    from datasets import List, Value

    if isinstance(kind, tuple):
        return features(kind)
    return List(feature(kind[0])) if isinstance(kind, list) else Value(kind)


def features(columns: Sequence[Column]) -> dict[str, Any]:
    """The struct feature of an object with these columns."""
    return {c.name: feature(c.kind) for c in columns}


def write(columns: Sequence[Column], o: Any, *seen: Any) -> dict[str, Any]:
    """An object as its stored struct (``seen``: what the renderer observed of it, for derived columns)."""
    return {c.name: c.get(o, *seen) for c in columns}


def model_columns(model: type, of: Callable[..., Any]) -> tuple[Column, ...]:
    """One column per field of a pydantic ``model`` (its kind from the field's type), each read off the model
    instance ``of(*args)`` returns and read back into that model's keywords."""

    def kind(annotation: Any) -> str:
        return "string" if typing.get_origin(annotation) is typing.Literal else KINDS[annotation]

    return tuple(
        Column(name, kind(f.annotation), lambda *a, name=name: getattr(of(*a), name), lambda v, name=name: {name: v})
        for name, f in model.model_fields.items()
    )


def read(columns: Sequence[Column], stored: dict[str, Any], missing: dict[str, Any] | None = None) -> dict[str, Any]:
    """The constructor keywords of an object stored as a struct (derived columns are not read). A column an
    older row lacks takes its value from ``missing``, else is left to the constructor's default."""
    out: dict[str, Any] = {}
    for c in columns:
        if c.put is None:
            continue
        if c.name in stored:
            out.update(c.put(stored[c.name]))
        elif missing and c.name in missing:
            out.update(c.put(missing[c.name]))
    return out
