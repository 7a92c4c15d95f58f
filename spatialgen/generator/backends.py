"""Renderer backends: what turns a run's scenes into rows, looked up by the config's ``backend`` name.

Everything that differs between the Pillow (2D) and the Blender (3D) pipelines lives behind one Backend:
the preflight, a scene's rows and their features, a scene's size on disk, re-rendering a stored row, the
card's wording, the default preset and worker count, how `spatialgen presets` sums a config up. The run,
its shards, the manifest, the card, ``rerender`` and the CLI ask the backend; none of them tests a config's
type or a row's keys (Kubric's split: a scene is data, a backend observes it)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spatialgen.scenes.config import DEFAULT_PRESET

if TYPE_CHECKING:
    from PIL.Image import Image

    from .manifest import RunSpec

PROBE_SCENES = 8  # scenes rendered up front by a 2D preflight, so a config that cannot produce them fails fast


@dataclass(frozen=True)
class Backend:
    name: str  # the config's ``backend``: "2d" or "3d"
    label: str  # "2D" / "3D", for titles
    scenes: str  # what the card says the scenes are
    frame: str  # the card's sentence on coordinates
    progress_every: int  # scenes per progress tick (a 3D scene takes seconds)
    preflight: Callable[[RunSpec], None]  # fail fast, before the folder is touched
    example_rows: Callable[[RunSpec, int, str, int], tuple[str, list[dict[str, Any]]]]  # (spec, i, digest, threads)
    features: Callable[[], Any]  # datasets.Features of a row
    scene_bytes: Callable[[RunSpec], int]  # about how many bytes one scene takes on disk
    render_row: Callable[[dict[str, Any]], Image]  # a stored row's image, rendered again
    image_size: Callable[[RunSpec], str]  # "336" or "640x480", for the card
    relations: Callable[[], tuple[dict, dict[str, str]]]  # (relations by name, extremes), for the card
    columns: dict[str, str] = field(default_factory=dict)  # card notes on its own columns (beside card.COLUMNS)
    default_preset: str = ""  # what `spatialgen render --backend NAME` renders without --preset
    # Cores one worker process uses: by default a run starts one worker per this many cores. 3D: one Blender
    # per 4 cores (Cycles scales across a worker's threads; Blenders packed one per core fight over them).
    cores_per_worker: int = 1
    summary: Callable[[Any], str] = lambda config: ""  # a preset's config in a few words (`spatialgen presets`)
    render_options: bool = False  # whether --engine, --samples, --device, --denoise and --depth apply
    gpus: Callable[[RunSpec], int] = lambda spec: 0  # GPUs one shard task asks a cluster for
    denoised: Callable[[RunSpec], bool] = lambda spec: False  # a re-render may differ by the denoiser's level
    scene_of: Callable[[dict[str, Any]], Any] | None = None  # a stored row's scene graph (exports read it)


# --- 2D: Pillow ---------------------------------------------------------------------------------------------


def _preflight2d(spec: RunSpec) -> None:
    from spatialgen.scenes.flat.example import make_example
    from spatialgen.scenes.flat.layout import check_feasible

    check_feasible(spec.config)
    digest = spec.config.digest()
    for i in range(min(spec.n, PROBE_SCENES)):
        make_example(spec.config, spec.seed, i, twins=spec.twins, digest=digest)


def _rows2d(spec: RunSpec, index: int, digest: str, threads: int = 0) -> tuple[str, list[dict[str, Any]]]:
    from .rows2d import example_rows

    return example_rows(spec, index, digest)


def _features2d():
    from .rows2d import features

    return features()


def _bytes2d(spec: RunSpec) -> int:
    from spatialgen.scenes.flat.example import make_example

    from .render2d import encode, render

    view = make_example(spec.config, spec.seed, 0, twins=False, digest=spec.config.digest()).original
    return len(encode(render(view.scene, spec.config.antialias), spec.format, spec.jpeg_quality)) + 4096


def _render_row2d(r: dict[str, Any]) -> Image:
    from .render2d import render
    from .rows2d import scene_from_row

    return render(scene_from_row(r), r["render"]["antialias"])


def _scene2d(r: dict[str, Any]):
    from .rows2d import scene_from_row

    return scene_from_row(r)


def _relations2d():
    from spatialgen.scenes.flat.relations import DOMAIN_2D

    return DOMAIN_2D.relations, DOMAIN_2D.extremes


def _summary2d(c) -> str:
    overlap = "yes" if c.allow_overlap else "no"
    return f"objects {c.objects[0]}-{c.objects[1]}, margin {c.margins.margin_px:g} px, overlap {overlap}"


# --- 3D: Blender --------------------------------------------------------------------------------------------


def _preflight3d(spec: RunSpec) -> None:
    from .blender import bpy_python

    bpy_python()  # a clear line now, not a worker crash later


def _rows3d(spec: RunSpec, index: int, digest: str, threads: int = 0) -> tuple[str, list[dict[str, Any]]]:
    from .rows3d import example_rows3d

    return example_rows3d(spec, index, digest, threads)


def _features3d():
    from .rows3d import features3d

    return features3d()


def _render_row3d(r: dict[str, Any]) -> Image:
    from PIL import Image as PILImage

    from .blender import worker
    from .rows3d import scene_from_row3d

    png = worker().render(scene_from_row3d(r).to_dict(), "beauty", r["render"])
    return PILImage.open(io.BytesIO(png)).convert("RGB")


def _scene3d(r: dict[str, Any]):
    from .rows3d import scene_from_row3d

    return scene_from_row3d(r)


def _relations3d():
    from spatialgen.scenes.world.relations import DOMAIN_3D

    return DOMAIN_3D.relations, DOMAIN_3D.extremes


def _summary3d(c) -> str:
    return f"objects {c.objects[0]}-{c.objects[1]}, {c.width}x{c.height}, {c.render.engine} {c.render.samples} samples"


BACKENDS: dict[str, Backend] = {
    "2d": Backend(
        name="2d",
        label="2D",
        scenes="2D scenes of colored shapes",
        frame="Pixel coordinates, x to the right and y downward.",
        progress_every=16,
        preflight=_preflight2d,
        example_rows=_rows2d,
        features=_features2d,
        scene_bytes=_bytes2d,
        render_row=_render_row2d,
        image_size=lambda spec: str(spec.config.image_size),
        relations=_relations2d,
        default_preset=DEFAULT_PRESET,
        summary=_summary2d,
        scene_of=_scene2d,
    ),
    "3d": Backend(
        name="3d",
        label="3D",
        scenes="3D scenes of colored primitives (rendered with Blender)",
        frame="World units; relations in the camera frame (x to the right, depth along the view).",
        progress_every=1,
        preflight=_preflight3d,
        example_rows=_rows3d,
        features=_features3d,
        scene_bytes=lambda spec: spec.config.width * spec.config.height * 2,
        render_row=_render_row3d,
        image_size=lambda spec: f"{spec.config.width}x{spec.config.height}",
        relations=_relations3d,
        default_preset="3d",
        cores_per_worker=4,
        summary=_summary3d,
        render_options=True,
        columns={
            "objects": "the scene graph's objects: position in world units, on (the object it rests on, -1: the "
            "ground), bbox and visible pixels from the render's mask, mask_rle (COCO-style, column-major)",
            "camera": "intrinsics (3x3, row-major) and world_to_camera (4x4, Blender camera axes: x right, y up, "
            "z backward)",
            "lights": "the area lights",
            "depth": "with `render.depth: true`: the depth map, 16-bit PNG in millimetres of camera z-depth",
            "difficulty": "preset, level, object count, the 3D margins, stack_prob, min_visible",
            "render": "engine, samples, denoise, device: with the scene, enough to re-render the image",
        },
        gpus=lambda spec: 1 if spec.config.render.device == "gpu" else 0,
        denoised=lambda spec: bool(spec.config.render.denoise),
        scene_of=_scene3d,
    ),
}


def register_backend(backend: Backend) -> None:
    """Make a renderer backend known (a domain plug-in's, scenes/domains.py); one per name."""
    if backend.name in BACKENDS and BACKENDS[backend.name] is not backend:
        raise ValueError(f"two renderer backends named '{backend.name}'")
    BACKENDS[backend.name] = backend


def backends() -> dict[str, Backend]:
    """Every renderer backend: the built-in 2D and 3D ones and those the domain plug-ins registered."""
    from spatialgen.scenes.domains import load_plugins

    load_plugins()  # importing a plug-in registers its backend
    return BACKENDS


def backend_of(config) -> Backend:
    """The backend a scene config renders with (its ``backend`` class attribute)."""
    return backends()[config.backend]
