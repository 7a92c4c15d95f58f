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

from . import rows as frame
from .manifest import RunSpec, split_of
from .render2d import encode, render

if TYPE_CHECKING:  # datasets is imported lazily: it is slow to import
    from datasets import Features


@lru_cache(maxsize=1)
def features() -> Features:
    """The typed features of 2D rows (imported lazily: ``datasets`` is slow to import)."""
    from datasets import List, Value

    f64, i32, s = Value("float64"), Value("int32"), Value("string")
    return frame.features(
        ("image",),
        {
            "objects": List(
                {
                    "id": i32,
                    "shape": s,
                    "color": s,
                    "rgb": List(i32),
                    "size": s,
                    "scale": f64,
                    "center": List(f64),
                    "bbox": List(f64),
                    "rotation": f64,
                    "outline": Value("bool"),
                    "texture": s,
                }
            ),
        },
        {
            "difficulty": {
                "preset": s,
                "level": i32,
                "n_objects": i32,
                "image_size": i32,
                "margin_px": f64,
                "near_px": f64,
                "far_px": f64,
                "size_ratio": f64,
                "overlap_min_frac": f64,
                "touch_gap_px": f64,
                "occlusion_min_frac": f64,
                "strict": Value("bool"),
                "axis_overlap_max": f64,
                "visible_geometry": Value("bool"),
                "separable_counts": Value("bool"),
                "min_separation_px": f64,
                "allow_overlap": Value("bool"),
                "hops": i32,
                "distractor_share": f64,
                "size_scale": f64,
                "clutter": i32,
                "noise": f64,
            },
            "render": {
                "background": List(i32),
                "clutter": List({"x0": f64, "y0": f64, "x1": f64, "y1": f64, "gray": i32, "width": f64}),
                "noise_seed": Value("int64"),
                "antialias": i32,
            },
        },
    )


def _obj(o: Obj) -> dict[str, Any]:
    return {
        "id": o.id,
        "shape": o.shape,
        "color": o.color,
        "rgb": list(o.rgb),
        "size": o.size,
        "scale": o.scale,
        "center": [o.x, o.y],
        "bbox": [round(v, 2) for v in bbox(o)],
        "rotation": o.rotation,
        "outline": o.outline,
        "texture": o.texture,
    }


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
    sc, m = view.scene, view.scene.margins
    settings = {
        "difficulty": {
            "preset": preset,
            "level": level,
            "n_objects": len(sc.objects),
            "image_size": cfg.image_size,
            **m.model_dump(),
            "min_separation_px": cfg.min_separation_px,
            "allow_overlap": cfg.allow_overlap,
            "hops": cfg.hops,
            "distractor_share": cfg.distractor_share,
            "size_scale": cfg.size_scale,
            "clutter": cfg.clutter,
            "noise": cfg.noise,
        },
        "render": {
            "background": list(sc.background),
            "clutter": [
                {"x0": s.x0, "y0": s.y0, "x1": s.x1, "y1": s.y1, "gray": s.gray, "width": s.width} for s in sc.clutter
            ],
            "noise_seed": sc.noise_seed,
            "antialias": cfg.antialias,
        },
    }
    return frame.row(
        rid=rid,
        images={"image": {"bytes": image, "path": f"{rid}.{ext}"}},
        index=index,
        split=split,
        twin_id=twin_id,
        twin_role=twin_role,
        size=(sc.width, sc.height),
        scene={"objects": [_obj(o) for o in sc.objects]},
        view=view,
        settings=settings,
    )


def scene_from_row(r: dict[str, Any]) -> Scene:
    """The scene graph stored in a row (as read back by pyarrow or datasets)."""
    d = r["difficulty"]
    # Rows written before the perceptual rules (0.2 and earlier) carry no "strict": their answers were
    # derived without the rules, so they are re-derived without them.
    stored = {k: d[k] for k in Margins.model_fields if k in d}
    margins = Margins(**{"strict": False, **stored})
    objs = tuple(
        Obj(
            id=o["id"],
            shape=o["shape"],
            color=o["color"],
            size=o["size"],
            scale=o["scale"],
            x=o["center"][0],
            y=o["center"][1],
            rotation=o["rotation"],
            outline=o["outline"],
            texture=o["texture"],
        )
        for o in r["objects"]
    )
    rd = r["render"]
    return Scene(
        r["width"],
        r["height"],
        objs,
        margins,
        tuple(rd["background"]),
        tuple(Stroke(**s) for s in rd["clutter"]),
        d["noise"],
        rd["noise_seed"],
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
