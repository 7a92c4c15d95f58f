"""End-to-end 2D rendering throughput and memory, against the floor of bare drawing and encoding.

Prints, in one run on this machine:
  - pipeline: `spatialgen render` of the default preset (scenes, questions, pixels, parquet) for --n scenes,
    and again for --n/10 scenes, with peak memory (PSS of the whole process tree) of each;
  - floor (Pillow): the same worker count drawing and encoding images of the same size, object count and
    supersampling with bare Pillow (ImageDraw polygons, reduce, PNG save at compress_level=1);
  - floor (same encoder): as above, but encoded with spatialgen's own PNG encoder (the issue's floor, #39);
  - floor (same encoder, box reduce): as above, reducing only each polygon's box as the renderer now does,
    so that ratio is pure overhead (drafting, rows, parquet): the renderer's drawing beats the floor above;
  - where a scene's time goes (--stages N scenes, one process, CPU time): drafting the scene and its questions,
    drawing, PNG encoding, building the rows, Arrow conversion and parquet writing, beside the floor's own
    drawing and encoding of as many images. The stages past drawing and encoding are what the floor leaves out.

    python bench/render2d.py [--n 50000] [--workers N] [--floor-n 20000] [--stages 2000]
"""

from __future__ import annotations

import argparse
import io
import math
import multiprocessing as mp
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import pyarrow as pa
import pyarrow.parquet as pq
from memory import PeakMemory
from PIL import Image, ImageDraw

from spatialgen.generator.executor import default_workers, lean_gc
from spatialgen.generator.manifest import RunSpec, default_shard_size
from spatialgen.generator.png import encode_png
from spatialgen.generator.run import render_run
from spatialgen.scenes.config import DEFAULT_PRESET, load_preset


def _floor_images(args: tuple[int, int, int, int, int, bool | None, bool]) -> int:
    """The floor's images; ``own``: encode with spatialgen's encoder (True), Pillow's (False), none (None);
    ``boxes``: reduce only each polygon's box (as the renderer now does) rather than the whole canvas."""
    seed, count, size, lo, hi, own, boxes = args
    rnd = random.Random(seed)
    ss = 2
    for _ in range(count):
        img = Image.new("RGB", (size * ss, size * ss), (240, 240, 240))
        d = ImageDraw.Draw(img)
        drawn = []
        for _ in range(rnd.randint(lo, hi)):
            x, y, r = rnd.uniform(60, size * ss - 60), rnd.uniform(60, size * ss - 60), rnd.uniform(20, 50) * ss / 2
            n = rnd.choice((3, 4, 5, 6, 10, 12, 48))
            d.polygon(
                [(x + r * math.cos(2 * math.pi * k / n), y + r * math.sin(2 * math.pi * k / n)) for k in range(n)],
                fill=(rnd.randint(0, 255), rnd.randint(0, 255), rnd.randint(0, 255)),
            )
            drawn.append(tuple(int(v) // ss * ss for v in (x - r - 4, y - r - 4, x + r + 6, y + r + 6)))
        if boxes:
            out = Image.new("RGB", (size, size), (240, 240, 240))
            for b in drawn:
                out.paste(img.reduce(ss, b), (b[0] // ss, b[1] // ss))
            img = out
        else:
            img = img.reduce(ss)
        if own:
            encode_png(img)
        elif own is not None:
            img.save(io.BytesIO(), "PNG", compress_level=1)
    return count


def floor_rate(n: int, workers: int, size: int, lo: int, hi: int, own: bool, boxes: bool = False) -> float:
    chunks = [(k, n // workers, size, lo, hi, own, boxes) for k in range(workers)]
    t = time.perf_counter()
    with mp.get_context("fork").Pool(workers) as pool:
        done = sum(pool.map(_floor_images, chunks))
    return done / (time.perf_counter() - t)


def stages(n: int) -> dict[str, float]:
    """CPU seconds per scene of each stage of a 2D render, in this process, on the default preset."""
    from spatialgen.generator import rows2d
    from spatialgen.generator.render2d import encode, render
    from spatialgen.generator.shard import ROW_GROUP
    from spatialgen.scenes.flat.example import make_example

    p = load_preset(DEFAULT_PRESET)
    spec = RunSpec(n=n, seed=0, preset=p.name, level=p.level, scenes_per_shard=n, config=p.config)
    cfg, digest, schema = spec.config, spec.config.digest(), rows2d.features().arrow_schema
    took: dict[str, float] = {}

    def timed(name, fn, *args):
        t = time.process_time()
        out = fn(*args)
        took[name] = took.get(name, 0.0) + time.process_time() - t
        return out

    def row(i, view, png):
        return rows2d.row(
            rid=f"{i:08d}", index=i, split="train", view=view, image=png, ext="png", cfg=cfg,
            preset=spec.preset, level=spec.level, twin_id=None, twin_role=None,
        )  # fmt: skip

    buf = io.BytesIO()
    writer = pq.ParquetWriter(buf, schema, compression="zstd")
    rows = []
    with lean_gc():  # as the render's workers run
        for i in range(n):
            ex = timed("drafting (layout, questions)", make_example, cfg, 0, i, False, digest)
            img = timed("drawing", render, ex.original.scene, cfg.antialias)
            png = timed("PNG encoding", encode, img)
            rows.append(timed("rows", row, i, ex.original, png))
            if len(rows) == ROW_GROUP or i == n - 1:
                table = timed("Arrow conversion", pa.Table.from_pylist, rows, schema)
                timed("parquet writing", writer.write_table, table)
                rows = []
    writer.close()
    lo, hi = cfg.objects
    t = time.process_time()
    _floor_images((1, n, cfg.image_size, lo, hi, None, False))
    took["floor: drawing"] = time.process_time() - t
    t = time.process_time()
    _floor_images((1, n, cfg.image_size, lo, hi, True, False))
    took["floor: encoding"] = time.process_time() - t - took["floor: drawing"]
    return {k: v / n for k, v in took.items()}


def pipeline(n: int, workers: int) -> tuple[float, float, float]:
    p = load_preset(DEFAULT_PRESET)
    spec = RunSpec(n=n, seed=0, preset=p.name, level=p.level, scenes_per_shard=default_shard_size(n), config=p.config)
    out = Path(tempfile.mkdtemp(prefix="bench-render2d-"))
    try:
        with PeakMemory() as mem:
            t = time.perf_counter()
            render_run(out, spec, workers)
            dt = time.perf_counter() - t
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return dt, n / dt, mem.peak_mib


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--floor-n", type=int, default=20_000)
    ap.add_argument("--stages", type=int, default=2_000, help="scenes for the per-stage breakdown (0: skip)")
    a = ap.parse_args()
    cfg = load_preset(DEFAULT_PRESET).config
    lo, hi = cfg.objects
    print(
        f"preset {DEFAULT_PRESET}: {cfg.image_size} px, {lo}-{hi} objects, supersampling x{cfg.antialias}, "
        f"{a.workers} workers, cpu count {mp.cpu_count()}"
    )
    small = max(1, a.n // 10)
    dt_s, rate_s, mem_s = pipeline(small, a.workers)
    print(f"pipeline n={small}: {dt_s:.1f} s, {rate_s:.0f} scenes/s, peak memory {mem_s:.0f} MiB")
    dt, rate, mem = pipeline(a.n, a.workers)
    print(f"pipeline n={a.n}: {dt:.1f} s, {rate:.0f} scenes/s, peak memory {mem:.0f} MiB")
    f_pil = floor_rate(a.floor_n, a.workers, cfg.image_size, lo, hi, own=False)
    f_own = floor_rate(a.floor_n, a.workers, cfg.image_size, lo, hi, own=True)
    f_box = floor_rate(a.floor_n, a.workers, cfg.image_size, lo, hi, own=True, boxes=True)
    print(f"floor (Pillow draw + Pillow PNG): {f_pil:.0f} images/s")
    print(f"floor (Pillow draw + spatialgen PNG): {f_own:.0f} images/s")
    print(f"floor (Pillow draw, drawn boxes reduced, + spatialgen PNG): {f_box:.0f} images/s")
    print(f"ratio pipeline/floor (Pillow PNG): {rate / f_pil:.2f}")
    print(f"ratio pipeline/floor (same encoder): {rate / f_own:.2f}")
    print(f"ratio pipeline/floor (same encoder, same box reduce): {rate / f_box:.2f}")
    print(f"memory n={a.n} vs n={small}: {mem:.0f} vs {mem_s:.0f} MiB ({(mem / mem_s - 1) * 100:+.1f} %)")
    if a.stages > 0:
        took = stages(a.stages)
        ours = sum(v for k, v in took.items() if not k.startswith("floor"))
        print(f"where a scene's time goes (one process, CPU ms per scene, {a.stages} scenes):")
        for k, v in took.items():
            share = "" if k.startswith("floor") else f"  {v / ours * 100:4.1f} %"
            print(f"  {k:30s} {v * 1e3:6.3f}{share}")
        floor = took["floor: drawing"] + took["floor: encoding"]
        print(f"  one process: ours {ours * 1e3:.3f} ms vs floor {floor * 1e3:.3f} ms a scene ({floor / ours:.2f})")


if __name__ == "__main__":
    main()
