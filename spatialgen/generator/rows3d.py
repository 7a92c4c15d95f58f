"""3D rows: the Blender render, the visibility pre-pass, per-object masks, camera and the scene graph.

The pre-pass renders an object-ID image (Workbench, flat colors, no anti-aliasing): each object's visible
pixels, its instance mask and its 2D box come from it. An object's visible fraction is its visible pixels
over its unoccluded silhouette (the projected convex hull of its surface, clipped to the image).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from spatialgen.scenes.example import View
from spatialgen.scenes.vocab import COLORS
from spatialgen.scenes.world.config import RenderSettings, Scene3DConfig
from spatialgen.scenes.world.example import make_example3d
from spatialgen.scenes.world.scene import Camera, Light, Obj3D, Scene3D, silhouette_area
from spatialgen.scenes.world.scene import Margins3D as _M3

from . import columns
from . import rows as frame
from .blender import worker
from .manifest import split_of
from .png import encode_png

if TYPE_CHECKING:
    from datasets import Features

ID_STEP = 6  # must match blender_worker.ID_STEP


def decode_ids(png: bytes) -> np.ndarray:
    """Object index per pixel (-1: background or ground)."""
    red = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))[..., 0].astype(np.int16)
    return np.rint(red / ID_STEP).astype(np.int16) - 1


def rle(mask: np.ndarray) -> list[int]:
    """COCO-style uncompressed RLE (column-major runs, starting with a run of zeros)."""
    flat = mask.T.reshape(-1).astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    return [0, *runs] if flat[0] else runs


def unrle(counts: list[int], height: int, width: int) -> np.ndarray:
    """A mask from its COCO-style uncompressed RLE (the inverse of ``rle``)."""
    flat = np.zeros(height * width, dtype=bool)
    pos, val = 0, False
    for c in counts:
        if val:
            flat[pos : pos + c] = True
        pos += c
        val = not val
    return flat.reshape(width, height).T


def prepass(cfg: Scene3DConfig, threads: int = 0) -> Callable[[Scene3D], tuple[bool, Any]]:
    """A visibility check for make_example3d: every object visible enough, by the ID render."""

    def check(scene: Scene3D) -> tuple[bool, Any]:
        ids = decode_ids(worker(threads).render(scene.to_dict(), "ids"))
        counts = np.bincount(ids[ids >= 0].ravel(), minlength=len(scene.objects))
        info = {}
        ok = True
        for o in scene.objects:
            px = int(counts[o.id]) if o.id < len(counts) else 0
            full = silhouette_area(o, scene.camera)
            frac = min(1.0, px / full) if full > 0 else 0.0
            info[o.id] = (px, frac)
            ok = ok and px >= cfg.min_visible_px and frac >= cfg.min_visible
        return ok, {"ids": ids, "visible": info}

    return check


# A 3D object as stored: its scene-graph fields, then what the render observed of it (``seen``: its mask,
# box, visible pixels and share), written by ``row3d``, typed by ``features3d``, read by ``scene_from_row3d``.
OBJECT_3D = (
    columns.attr("id", "int32"),
    columns.attr("shape", "string"),
    columns.attr("color", "string"),
    columns.attr("material", "string"),
    columns.attr("size", "string"),
    columns.attr("r", "float64"),
    columns.Column(
        "position", ["float64"], lambda o, seen: [o.x, o.y, o.z], lambda v: dict(zip("xyz", v, strict=True))
    ),
    columns.attr("yaw", "float64"),
    columns.attr("on", "int32"),
    columns.Column("rgb", ["int32"], lambda o, seen: list(COLORS[o.color])),
    columns.Column("bbox", ["float64"], lambda o, seen: seen["bbox"]),
    columns.Column("visible_px", "int32", lambda o, seen: seen["px"]),
    columns.Column("visible_frac", "float64", lambda o, seen: round(seen["frac"], 4)),
    columns.Column("mask_rle", ["int32"], lambda o, seen: rle(seen["mask"])),
)
CAMERA = (
    columns.attr("location", ["float64"], tuple),
    columns.attr("look_at", ["float64"], tuple),
    columns.attr("lens", "float64"),
    columns.attr("sensor", "float64"),
    columns.Column("intrinsics", ["float64"], lambda c: [v for row in c.intrinsics() for v in row]),
    columns.Column("world_to_camera", ["float64"], lambda c: [v for row in c.world_to_camera() for v in row]),
)
LIGHT = (
    columns.attr("location", ["float64"], tuple),
    columns.attr("energy", "float64"),
    columns.attr("size", "float64"),
)


# The settings columns: the 3D margins, the config's knobs, the Blender settings. Getters read (scene,
# config, preset, level).
MARGINS_3D = columns.model_columns(_M3, lambda sc, *_: sc.margins)
DIFFICULTY_3D = (
    columns.Column("preset", "string", lambda sc, cfg, preset, level: preset),
    columns.Column("level", "int32", lambda sc, cfg, preset, level: level),
    columns.Column("n_objects", "int32", lambda sc, *_: len(sc.objects)),
    *MARGINS_3D,
    *(
        columns.Column(k, kind, lambda sc, cfg, *_, k=k: getattr(cfg, k))
        for k, kind in (("stack_prob", "float64"), ("min_visible", "float64"), ("hops", "int32"))
    ),
)
RENDER_3D = columns.model_columns(RenderSettings, lambda sc, cfg, *_: cfg.render)


def _seen(o: Obj3D, payload: dict) -> dict[str, Any]:
    """What the ID render observed of one object: its mask, pixel box, visible pixels and share."""
    mask = payload["ids"] == o.id
    ys, xs = np.nonzero(mask)
    bbox = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)] if len(xs) else [0.0] * 4
    px, frac = payload["visible"][o.id]
    return {"mask": mask, "bbox": bbox, "px": px, "frac": frac}


def depth_png(raw: bytes, width: int, height: int) -> bytes:
    """Camera z-depth as a 16-bit PNG in millimeters (0: nothing hit; saturates at 65.535 units)."""
    d = np.frombuffer(raw, dtype="<f4").reshape(height, width)
    mm = np.clip(np.rint(d * 1000), 0, 65535).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(mm).save(buf, "PNG")
    return buf.getvalue()


def image_bytes(png: bytes, fmt: str, quality: int) -> bytes:
    """Blender's PNG re-encoded in the run's format (deterministic PNG, or JPEG)."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    if fmt == "png":
        return encode_png(img)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def row3d(
    *,
    rid: str,
    index: int,
    split: str,
    view: View,
    payload: dict,
    image: bytes,
    ext: str,
    cfg: Scene3DConfig,
    preset: str,
    level: int,
    twin_id: str | None,
    twin_role: str | None,
    depth: bytes | None = None,
) -> dict[str, Any]:
    """One 3D row: the image (and depth map), objects with masks, camera, lights, questions, settings."""
    sc: Scene3D = view.scene
    return frame.row(
        rid=rid,
        images={
            "image": {"bytes": image, "path": f"{rid}.{ext}"},
            "depth": {"bytes": depth, "path": f"{rid}-depth.png"} if depth is not None else None,
        },
        index=index,
        split=split,
        twin_id=twin_id,
        twin_role=twin_role,
        size=(sc.camera.width, sc.camera.height),
        scene={
            "objects": [columns.write(OBJECT_3D, o, _seen(o, payload)) for o in sc.objects],
            "camera": columns.write(CAMERA, sc.camera),
            "lights": [columns.write(LIGHT, li) for li in sc.lights],
        },
        view=view,
        settings={
            "difficulty": columns.write(DIFFICULTY_3D, sc, cfg, preset, level),
            "render": columns.write(RENDER_3D, sc, cfg),
        },
    )


def scene_from_row3d(r: dict[str, Any]) -> Scene3D:
    """The 3D scene graph stored in a row (re-derives every answer, re-renders the image)."""
    c = r["camera"]
    d = r["difficulty"]
    objs = tuple(Obj3D(**columns.read(OBJECT_3D, o)) for o in r["objects"])
    cam = Camera(**columns.read(CAMERA, c), width=r["width"], height=r["height"])
    lights = tuple(Light(**columns.read(LIGHT, li)) for li in r["lights"])
    return Scene3D(objs, cam, lights, _M3(**columns.read(MARGINS_3D, d)))


def example_rows3d(spec, index: int, digest: str, threads: int = 0) -> tuple[str, list[dict[str, Any]]]:
    """The rows (one, or two with a twin) of 3D scene ``index``, rendered by Blender, and their split."""
    cfg: Scene3DConfig = spec.config
    ex = make_example3d(cfg, spec.seed, index, prepass(cfg, threads), twins=spec.twins, digest=digest)
    split = split_of(spec, index)
    ext = "png" if spec.format == "png" else "jpg"
    base = f"{index:08d}"
    views = [("original", ex.original, ex.payload)]
    if ex.twin is not None:
        views.append(("twin", ex.twin, ex.twin_payload))
    rows = []
    for role, view, payload in views:
        png = worker(threads).render(view.scene.to_dict(), "beauty", cfg.render.model_dump())
        depth = None
        if cfg.render.depth:
            c = view.scene.camera
            depth = depth_png(worker(threads).render(view.scene.to_dict(), "depth"), c.width, c.height)
        rid = base if role == "original" else f"{base}-twin"
        rows.append(
            row3d(
                rid=rid,
                index=index,
                split=split,
                view=view,
                payload=payload,
                image=image_bytes(png, spec.format, spec.jpeg_quality),
                ext=ext,
                cfg=cfg,
                preset=spec.preset,
                level=spec.level,
                twin_id=base if spec.twins else None,
                twin_role=role if spec.twins else None,
                depth=depth,
            )
        )
    return split, rows


@lru_cache(maxsize=1)
def features3d() -> Features:
    """The typed features of 3D rows."""
    from datasets import List

    return frame.features(
        ("image", "depth"),
        {
            "objects": List(columns.features(OBJECT_3D)),
            "camera": columns.features(CAMERA),
            "lights": List(columns.features(LIGHT)),
        },
        {"difficulty": columns.features(DIFFICULTY_3D), "render": columns.features(RENDER_3D)},
    )
