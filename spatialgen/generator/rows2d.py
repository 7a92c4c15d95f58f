"""The 2D dataset row: one image with its scene graph and questions, and its typed Hugging Face features
(in the frame every domain shares, generator/rows.py).

``scene_from_row`` is the inverse of ``row``: the stored scene re-derives every answer and re-renders
the image, which is what the property tests and reviewers rely on.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from spatialgen.scenes.example import View
from spatialgen.scenes.flat.config import Margins, SceneConfig
from spatialgen.scenes.flat.example import make_example
from spatialgen.scenes.flat.relations import bbox
from spatialgen.scenes.flat.scene import Obj, Scene, Stroke
from spatialgen.scenes.questions import Question

from . import columns
from . import rows as frame
from .manifest import RunSpec, split_of
from .render2d import encode, render

if TYPE_CHECKING:  # datasets is imported lazily: it is slow to import
    from datasets import Features


# A 2D object as stored: written by ``row``, typed by ``features``, read back by ``scene_from_row``.
OBJECT = (
    columns.attr("id", "int32"),
    columns.attr("shape", "string"),
    columns.attr("color", "string"),
    columns.Column("rgb", ["int32"], lambda o: list(o.rgb)),
    columns.attr("size", "string"),
    columns.attr("scale", "float64"),
    columns.Column("center", ["float64"], lambda o: [o.x, o.y], lambda v: {"x": v[0], "y": v[1]}),
    columns.Column("bbox", ["float64"], lambda o: [round(v, 2) for v in bbox(o)]),
    columns.attr("rotation", "float64"),
    columns.attr("outline", "bool"),
    columns.attr("texture", "string"),
)


# The settings columns: the margins (every field of Margins), the config's knobs, the render's own draws.
# Getters read (scene, config, preset, level); the scene's own values are read back into Scene.
MARGINS = columns.model_columns(Margins, lambda sc, *_: sc.margins)
_knob = {"min_separation_px": "float64", "allow_overlap": "bool", "hops": "int32", "distractor_share": "float64"}
_knob |= {"size_scale": "float64", "clutter": "int32"}
DIFFICULTY = (
    columns.Column("preset", "string", lambda sc, cfg, preset, level: preset),
    columns.Column("level", "int32", lambda sc, cfg, preset, level: level),
    columns.Column("n_objects", "int32", lambda sc, *_: len(sc.objects)),
    columns.Column("image_size", "int32", lambda sc, cfg, *_: cfg.image_size),
    *MARGINS,
    *(columns.Column(k, kind, lambda sc, cfg, *_, k=k: getattr(cfg, k)) for k, kind in _knob.items()),
    columns.Column("noise", "float64", lambda sc, cfg, *_: cfg.noise, lambda v: {"noise": v}),  # last: read back
)
STROKE = tuple(columns.attr(k, kind) for k, kind in (("x0", "float64"), ("y0", "float64"), ("x1", "float64")))
STROKE += tuple(columns.attr(k, kind) for k, kind in (("y1", "float64"), ("gray", "int32"), ("width", "float64")))
RENDER = (
    columns.Column("background", ["int32"], lambda sc, *_: list(sc.background), lambda v: {"background": tuple(v)}),
    columns.Column(
        "clutter",
        [STROKE],
        lambda sc, *_: [columns.write(STROKE, s) for s in sc.clutter],
        lambda v: {"clutter": tuple(Stroke(**columns.read(STROKE, s)) for s in v)},
    ),
    columns.attr("noise_seed", "int64"),
    columns.Column("antialias", "int32", lambda sc, cfg, *_: cfg.antialias),
)


@lru_cache(maxsize=1)
def features() -> Features:
    """The typed features of 2D rows (imported lazily: ``datasets`` is slow to import)."""
    from datasets import List

    return frame.features(
        ("image",),
        {"objects": List(columns.features(OBJECT))},
        {"difficulty": columns.features(DIFFICULTY), "render": columns.features(RENDER)},
    )


def row(
    *,
    rid: str,
    index: int,
    split: str,
    view: View,
    image: bytes,
    ext: str,
    cfg: SceneConfig,
    preset: str,
    level: int,
    twin_id: str | None,
    twin_role: str | None,
) -> dict[str, Any]:
    """One 2D row: the image and its scene graph, questions, description and settings."""
    sc = view.scene
    run = (sc, cfg, preset, level)
    settings = {"difficulty": columns.write(DIFFICULTY, *run), "render": columns.write(RENDER, *run)}
    return frame.row(
        rid=rid,
        images={"image": {"bytes": image, "path": f"{rid}.{ext}"}},
        index=index,
        split=split,
        twin_id=twin_id,
        twin_role=twin_role,
        size=(sc.width, sc.height),
        scene={"objects": [columns.write(OBJECT, o) for o in sc.objects]},
        view=view,
        settings=settings,
    )


def scene_from_row(r: dict[str, Any]) -> Scene:
    """The scene graph stored in a row (as read back by pyarrow or datasets)."""
    d = r["difficulty"]
    # Rows written before the perceptual rules (0.2 and earlier) carry no "strict", and rows before the
    # relative distance margin no "distance_ratio": their answers were derived without them, so they are
    # re-derived without them.
    margins = Margins(**columns.read(MARGINS, d, missing={"strict": False, "distance_ratio": 1.0}))
    objs = tuple(Obj(**columns.read(OBJECT, o)) for o in r["objects"])
    return Scene(
        r["width"], r["height"], objs, margins, **columns.read(DIFFICULTY[-1:], d), **columns.read(RENDER, r["render"])
    )


def questions_from_row(r: dict[str, Any]) -> list[Question]:
    """A row's stored questions as Question objects."""
    return [Question.from_dict(q) for q in r["questions"]]


def example_rows(spec: RunSpec, index: int, digest: str) -> tuple[str, list[dict[str, Any]]]:
    """The rows (one, or two with a twin) of scene ``index``, and their split."""
    ex = make_example(spec.config, spec.seed, index, twins=spec.twins, digest=digest)
    split = split_of(spec, index)
    ext = "png" if spec.format == "png" else "jpg"
    base = f"{index:08d}"
    views = [("original", ex.original)] + ([("twin", ex.twin)] if ex.twin is not None else [])
    rows = []
    for role, view in views:
        rid = base if role == "original" else f"{base}-twin"
        img = encode(render(view.scene, spec.config.antialias), spec.format, spec.jpeg_quality)
        rows.append(
            row(
                rid=rid,
                index=index,
                split=split,
                view=view,
                image=img,
                ext=ext,
                cfg=spec.config,
                preset=spec.preset,
                level=spec.level,
                twin_id=base if spec.twins else None,
                twin_role=role if spec.twins else None,
            )
        )
    return split, rows
