"""Wall time and peak GPU memory of ``spatialgen diagnose`` kinds on N examples, the model loaded once (the
kinds that read attention weights switch it to eager attention, as the CLI loads them).

    python bench/diagnose_cost.py                                              # tiny-random, CPU
    python bench/diagnose_cost.py --model random:llava-1.5-7b --kinds norms,position,balance --n 100  # GPU
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from eval_throughput import examples, peak_gib, reset_peak, sync

from spatialgen.eval.diagnose import NEEDS_EAGER, diagnose, work
from spatialgen.models.loading import load_model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny-random")
    ap.add_argument("--kinds", default="norms,position,balance")
    ap.add_argument("--n", type=int, default=100, help="examples read (image kinds use their distinct images)")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    a = ap.parse_args()
    torch.manual_seed(0)
    vlm = load_model(a.model, a.dtype, a.device)
    default_attn = vlm.model.config._attn_implementation
    exs = examples(a.n)
    rows = []
    print(f"model {a.model}, {vlm.dtype}, device {vlm.device}, {len(exs)} examples, batch {a.batch_size}")
    for kind in a.kinds.split(","):
        vlm.model.set_attn_implementation("eager" if kind in NEEDS_EAGER else default_attn)
        reset_peak(vlm)
        with tempfile.TemporaryDirectory() as tmp:
            sync(vlm)
            t = time.perf_counter()
            diagnose(kind, vlm, exs, Path(tmp), batch_size=a.batch_size)
            sync(vlm)
            wall = time.perf_counter() - t
        row = {"kind": kind, "units": work(kind, exs), "wall_s": wall, "peak_gib": peak_gib(vlm)}
        rows.append(row)
        mem = f", peak {row['peak_gib']:.1f} GiB" if row["peak_gib"] is not None else ""
        print(f"  {kind:14s} {wall:7.1f} s for {row['units']} units ({row['units'] / wall:.2f}/s){mem}", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps({"model": a.model, "examples": len(exs), "kinds": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
