"""End-to-end 2D rendering throughput and memory, against the floor of bare drawing and encoding.

Prints, in one run on this machine:
  - pipeline: `spatialgen render` of the default preset (scenes, questions, pixels, parquet) for --n scenes,
    and again for --n/10 scenes, with peak memory (PSS of the whole process tree) of each;
  - floor (Pillow): the same worker count drawing and encoding images of the same size, object count and
    supersampling with bare Pillow (ImageDraw polygons, reduce, PNG save at compress_level=1);
  - floor (same encoder): as above, but encoded with spatialgen's own PNG encoder, so the ratio is pure overhead.

    python bench/render2d.py [--n 50000] [--workers N] [--floor-n 20000]
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
from memory import PeakMemory
from PIL import Image, ImageDraw

from spatialgen.generator.executor import default_workers
from spatialgen.generator.manifest import RunSpec, default_shard_size
from spatialgen.generator.png import encode_png
from spatialgen.generator.run import render_run
from spatialgen.scenes.config import DEFAULT_PRESET, load_preset


def _floor_images(args: tuple[int, int, int, int, int, bool]) -> int:
    seed, count, size, lo, hi, own = args
    rnd = random.Random(seed)
    ss = 2
    for _ in range(count):
        img = Image.new("RGB", (size * ss, size * ss), (240, 240, 240))
        d = ImageDraw.Draw(img)
        for _ in range(rnd.randint(lo, hi)):
            x, y, r = rnd.uniform(60, size * ss - 60), rnd.uniform(60, size * ss - 60), rnd.uniform(20, 50) * ss / 2
            n = rnd.choice((3, 4, 5, 6, 10, 12, 48))
            d.polygon(
                [(x + r * math.cos(2 * math.pi * k / n), y + r * math.sin(2 * math.pi * k / n)) for k in range(n)],
                fill=(rnd.randint(0, 255), rnd.randint(0, 255), rnd.randint(0, 255)),
            )
        img = img.reduce(ss)
        if own:
            encode_png(img)
        else:
            img.save(io.BytesIO(), "PNG", compress_level=1)
    return count


def floor_rate(n: int, workers: int, size: int, lo: int, hi: int, own: bool) -> float:
    chunks = [(k, n // workers, size, lo, hi, own) for k in range(workers)]
    t = time.perf_counter()
    with mp.get_context("fork").Pool(workers) as pool:
        done = sum(pool.map(_floor_images, chunks))
    return done / (time.perf_counter() - t)


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
    print(f"floor (Pillow draw + Pillow PNG): {f_pil:.0f} images/s")
    print(f"floor (Pillow draw + spatialgen PNG): {f_own:.0f} images/s")
    print(f"ratio pipeline/floor (Pillow PNG): {rate / f_pil:.2f}")
    print(f"ratio pipeline/floor (same encoder): {rate / f_own:.2f}")
    print(f"memory n={a.n} vs n={small}: {mem:.0f} vs {mem_s:.0f} MiB ({(mem / mem_s - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
