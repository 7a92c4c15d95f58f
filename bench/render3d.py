"""3D rendering: the pipeline (Blender started once per worker) against a fresh process per image.

Prints, in one run on this machine, for the same scenes and settings (default 3D preset: 320x240, Cycles
32 samples + denoising, 3-10 objects):
  - pipeline: `render --backend 3d` with all cores, amortized seconds per image (wall / images);
  - baseline: a fresh Blender process per image (pre-pass + render), as many in parallel as the pipeline
    has workers, amortized seconds per image;
  - the visibility pre-pass's share of render time, from one Blender rendering the same scenes.

    python bench/render3d.py [--n 16] [--preset 3d]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from spatialgen.generator.backends import BACKENDS
from spatialgen.generator.blender import BlenderWorker, bpy_python
from spatialgen.generator.executor import default_workers, default_workers_for
from spatialgen.generator.folder import iter_rows
from spatialgen.generator.manifest import RunSpec
from spatialgen.generator.rows3d import scene_from_row3d
from spatialgen.generator.run import render_run
from spatialgen.scenes.config import load_preset


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--preset", default="3d")
    ap.add_argument("--workers", type=int, default=default_workers_for(BACKENDS["3d"].cores_per_worker))
    a = ap.parse_args()
    p = load_preset(a.preset)
    cfg = p.config
    python = bpy_python()
    spec = RunSpec(n=a.n, seed=0, preset=a.preset, level=p.level, scenes_per_shard=max(1, a.n // a.workers), config=cfg)
    out = Path(tempfile.mkdtemp(prefix="bench-3d-"))
    try:
        t = time.perf_counter()
        render_run(out / "ds", spec, a.workers)
        wall = time.perf_counter() - t
        rows = list(
            iter_rows(out / "ds", columns=["objects", "camera", "lights", "difficulty", "width", "height", "render"])
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)
    scenes = [scene_from_row3d(r).to_dict() for r in rows]
    settings = cfg.render.model_dump()
    objects = [len(s["objects"]) for s in scenes]
    print(
        f"preset {a.preset}: {cfg.width}x{cfg.height}, {cfg.render.engine} {cfg.render.samples} samples, "
        f"denoise {cfg.render.denoise}, {min(objects)}-{max(objects)} objects; "
        f"{a.workers} worker{'s' if a.workers > 1 else ''}, "
        f"{len(scenes)} images"
    )
    print(
        f"pipeline: {wall:.1f} s, {wall / len(scenes):.2f} s per image amortized "
        f"(includes Blender start-up and any resampled layouts)"
    )

    threads = max(1, default_workers() // a.workers)

    def fresh(scene: dict) -> None:
        w = BlenderWorker(python, threads=threads)
        w.render(scene, "ids")
        w.render(scene, "beauty", settings)
        w.close()

    t = time.perf_counter()
    with ThreadPoolExecutor(a.workers) as pool:
        list(pool.map(fresh, scenes))
    base = time.perf_counter() - t
    print(f"baseline, a fresh process per image: {base:.1f} s, {base / len(scenes):.2f} s per image amortized")
    print(f"pipeline speed-up over the baseline: {base / wall:.2f}x")

    w = BlenderWorker(python, threads=default_workers())
    w.render(scenes[0], "ids")
    w.render(scenes[0], "beauty", settings)  # warm
    t_ids = t_beauty = 0.0
    for s in scenes:
        t = time.perf_counter()
        w.render(s, "ids")
        t_ids += time.perf_counter() - t
        t = time.perf_counter()
        w.render(s, "beauty", settings)
        t_beauty += time.perf_counter() - t
    w.close()
    print(
        f"visibility pre-pass: {t_ids / len(scenes) * 1000:.0f} ms per image, {t_ids / t_beauty:.1%} of render time "
        f"({t_beauty / len(scenes):.2f} s per render with {default_workers()} threads)"
    )


if __name__ == "__main__":
    main()
