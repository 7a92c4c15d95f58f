"""Scaling of the Ray executor on one machine: scenes/s with 1 and 2 Ray workers and the ratio, and the
Ray executor against the local process pool at the same worker count. Each measurement runs in its own
process with its own cluster; cluster start-up is timed apart from rendering.

    python bench/scale.py [--n 20000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one(executor: str, workers: int, n: int) -> dict:
    from spatialgen.generator.manifest import RunSpec, default_shard_size
    from spatialgen.generator.run import render_run
    from spatialgen.scenes.config import load_preset

    p = load_preset("medium")
    # Shards of 250 scenes, so that 2 workers stay busy to the end.
    spec = RunSpec(
        n=n, seed=0, preset="medium", level=p.level, scenes_per_shard=min(250, default_shard_size(n)), config=p.config
    )
    out = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    startup = 0.0
    if executor == "ray":
        import ray

        t = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        startup = time.perf_counter() - t
    t = time.perf_counter()
    render_run(out / "ds", spec, workers, executor=executor)
    dt = time.perf_counter() - t
    shutil.rmtree(out)
    return {"executor": executor, "workers": workers, "n": n, "seconds": dt, "rate": n / dt, "startup": startup}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--one", nargs=2, metavar=("EXECUTOR", "WORKERS"))
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(a.one[0], int(a.one[1]), a.n)))
        return
    res = {}
    for ex, w in (("ray", 1), ("ray", 2), ("local", 2)):
        r = subprocess.run(
            [sys.executable, __file__, "--n", str(a.n), "--one", ex, str(w)], capture_output=True, text=True, check=True
        )
        res[(ex, w)] = json.loads(r.stdout.strip().splitlines()[-1])
        x = res[(ex, w)]
        extra = f", cluster start {x['startup']:.1f} s (not included)" if ex == "ray" else ""
        print(f"{ex} executor, {w} worker{'s' if w > 1 else ''}: {x['seconds']:.1f} s, {x['rate']:.0f} scenes/s{extra}")
    print(f"ray scaling 2 vs 1 workers: {res[('ray', 2)]['rate'] / res[('ray', 1)]['rate']:.2f}x")
    print(
        f"ray vs local process pool (2 workers): {res[('ray', 2)]['rate'] / res[('local', 2)]['rate']:.2f} "
        f"of its throughput ({(1 - res[('ray', 2)]['rate'] / res[('local', 2)]['rate']) * 100:+.1f} % overhead)"
    )


if __name__ == "__main__":
    main()
