"""Statistics at scale: a report over N predictions (default 1,000,000: 3 conditions x ~333k questions)
and the exact McNemar test, scipy's binomial test against the big-integer sum it replaced, side by side.

    python bench/report_scale.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import tempfile
import time
from pathlib import Path

from spatialgen.eval.report import write_summary
from spatialgen.eval.stats import mcnemar_exact


def exact_by_sum(b: int, c: int) -> float:
    """The replaced implementation: the binomial tail as a sum of big-integer binomial coefficients."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    a = ap.parse_args()
    for b, c in ((9_800, 10_200), (148_000, 152_000)):
        t = time.perf_counter()
        fast = mcnemar_exact(b, c)
        t_fast = time.perf_counter() - t
        if b + c <= 20_000:
            t = time.perf_counter()
            slow = exact_by_sum(b, c)
            t_slow = time.perf_counter() - t
            print(f"McNemar b={b} c={c}: scipy {t_fast * 1e3:.2f} ms, big-integer sum {t_slow:.1f} s, "
                  f"p {fast:.6g} vs {slow:.6g}")  # fmt: skip
        else:
            print(f"McNemar b={b} c={c}: scipy {t_fast * 1e3:.2f} ms, p {fast:.6g}")
    rng = random.Random(0)
    conds = ("image", "no-image", "norm:paper")
    per = a.n // len(conds)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        with open(out / "predictions.jsonl", "w") as f:
            for cond in conds:
                for i in range(per):
                    ok = rng.random() < (0.7 if cond == "image" else 0.6)
                    cats = {"split": "test", "family": f"f{i % 7}", "relation": f"r{i % 11}"}
                    f.write(json.dumps({"id": str(i), "source": "s", "condition": cond, "correct": ok,
                                        "categories": cats}) + "\n")  # fmt: skip
        t = time.perf_counter()
        write_summary(out, {"model": "bench", "data": ["synthetic"], "mode": "likelihood"})
        dt = time.perf_counter() - t
    print(f"report over {per * len(conds):,} predictions ({len(conds)} conditions, 3 McNemar pairs): {dt:.1f} s")


if __name__ == "__main__":
    main()
